/** Prettier: the house format (`npm run format`; `npm run format:check` says which files differ). */
export default {
  printWidth: 120,
  singleQuote: true,
};
