// The runtime's structured events. The terminal renderer, the JSON-lines writer, the lesson player
// and the tests all consume these; none of them parses printed text.
import type { Evidence } from './observe.js';
import type { StepId } from './steps.js';
import type { StepProperties } from './steps/step.js';

/** A step as events carry it; its properties (changesRoot, forks, startsCommand) say what it changes. */
export interface StepSummary extends StepProperties {
  id: StepId;
  title: string;
  syscalls: string[];
  shell: string;
  manPage: string;
  why: string;
  notes: string[];
  skip?: string;
}

export interface FailureInfo {
  message: string;
  syscall?: string;
  errno?: number;
  errnoName?: string;
  hint?: string;
}

export type RuntimeEvent =
  | { type: 'created'; id: string; name?: string; rootfs: string; command: string[]; steps: StepSummary[] }
  | { type: 'step-started'; index: number; step: StepSummary }
  | { type: 'step-skipped'; index: number; step: StepSummary; reason: string }
  /** evidence is absent when nobody asked for it (plain nsx run: no --step, --trace or --events). */
  | { type: 'step-applied'; index: number; step: StepSummary; evidence?: Evidence; changed: string[] }
  | { type: 'step-failed'; index: number; step: StepSummary; error: FailureInfo }
  | { type: 'started'; pid: number }
  | { type: 'exited'; exitCode: number; code?: number; signal?: string; oomKilled: boolean }
  | { type: 'cleaned-up'; removed: string[] };

export type EventType = RuntimeEvent['type'];
export type EventListener = (e: RuntimeEvent) => void;
