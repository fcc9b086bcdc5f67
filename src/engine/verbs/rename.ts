// docker rename: a new name for a container, running or not (moby's daemon/rename.go, its checks and
// words). Only the engine's record changes: the name is how the API finds it, not something the
// running container sees (its hostname stays as it was made at create).
import type { EngineContainer } from '../container.js';
import type { Engine } from '../engine.js';
import { ApiError, nameInUse } from '../errors.js';
import { VALID_NAME } from '../names.js';

export function rename(engine: Engine, c: EngineContainer, newName: string): void {
  const oldName = c.record.Name;
  if (!newName) throw new ApiError(400, 'Neither old nor new names may be empty');
  if (!VALID_NAME.test(newName))
    throw new ApiError(400, `Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const name = newName.replace(/^\//, '');
  if (name === oldName) throw new ApiError(400, 'Renaming a container with the same name as its current name');
  const holder = engine.all().find((x) => x.record.Name === name);
  if (holder) throw nameInUse(name, holder.id);
  c.record.Name = name;
  engine.save();
  engine.event(c, 'rename', { oldName: `/${oldName}` });
}
