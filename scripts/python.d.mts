// Types for python.mjs, so TypeScript callers (bench/) import it without `any`.
/** The Python whose torch the addon links: PYTHON, else the one libtorch.mjs found, else the venv. */
export function torchPython(): string;
