// Firmware-side PCR 7 prediction for OVMF (Secure Boot policy and authorities). Pure.
export { predictPcr7, PCR7, MAX_LOADED_IMAGES } from './pcr7.js';
export type { Pcr7Input, Pcr7Prediction, PredictedEvent } from './pcr7.js';
export { authorise } from './db-authority.js';
export type { DbMatch, ImageSignature, LoadedImage } from './db-authority.js';
export { deriveSecureBoot } from './secure-boot-state.js';
export type { SecureBootState } from './secure-boot-state.js';
export { encodeUefiVariableData, MAX_VARIABLE_DATA } from './uefi-variable-data.js';
export { loadedImageFromPe } from './loaded-image.js';
