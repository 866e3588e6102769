export { expandInputs } from './expand.js';
export type { ExpandOptions, ExpandedInputs } from './expand.js';
export { InputError } from './input-error.js';
export { IMAGE_EXTENSIONS, isImagePath } from './image-types.js';
