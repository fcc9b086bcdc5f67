// API errors: docker's HTTP status and, where docker has one, docker's wording. The body is docker's
// shape, {"message": "..."}; nsx adds a "hint" for a learner when it has one.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const noSuchContainer = (ref: string) => new ApiError(404, `No such container: ${ref}`);

export const nameInUse = (name: string, id: string) =>
  new ApiError(
    409,
    `Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
  );

export const removeRunning = (id: string) =>
  new ApiError(
    409,
    `You cannot remove a running container ${id}. Stop the container before attempting removal or force remove`,
  );
