// The `express4` devDependency is Express 4 installed under another name; it has no types of
// its own, and the tests use it through the same (Express 5) types.
declare module 'express4' {
  import express from 'express';
  export default express;
}
