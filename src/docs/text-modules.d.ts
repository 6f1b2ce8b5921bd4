// Markdown imported `with { type: "text" }` is a string (Bun's text loader).
declare module "*.md" {
  const text: string;
  export default text;
}
