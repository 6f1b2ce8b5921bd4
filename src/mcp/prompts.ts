import { ErrorCode, McpError } from "./jsonrpc.ts";

/**
 * One prompt, `ask`: clients that show prompts (Claude's slash commands,
 * the Inspector) offer "answer this from the docs" without the user having
 * to explain the tools. It only writes the instruction; the model then
 * calls search and fetch itself.
 */

export function promptDefinitions(docsTitle: string) {
  return [
    {
      name: "ask",
      title: `Ask ${docsTitle}`,
      description: `Answer a question from ${docsTitle}, citing the pages used.`,
      arguments: [{ name: "question", description: "The question to answer.", required: true }],
    },
  ];
}

/**
 * `prompts/get`.
 *
 * @throws McpError -32602 for an unknown prompt or a missing or non-string question.
 */
export function getPrompt(docsTitle: string, name: unknown, args: unknown): Record<string, unknown> {
  if (name !== "ask") {
    throw new McpError(ErrorCode.InvalidParams, `Unknown prompt ${JSON.stringify(String(name).slice(0, 100))}: this server has the prompt ask`);
  }
  const question = typeof args === "object" && args !== null ? (args as Record<string, unknown>).question : undefined;
  if (typeof question !== "string" || question.trim() === "") {
    throw new McpError(ErrorCode.InvalidParams, "The ask prompt needs the argument question (a string)");
  }
  return {
    description: `Answer from ${docsTitle}`,
    messages: [
      {
        role: "user",
        content: {
          type: "text",
          text:
            `Answer the question below from ${docsTitle}. Use the search tool to find the relevant pages, ` +
            "read the best ones in full with the fetch tool, and cite the URLs of the pages you used. " +
            "If the documentation does not answer it, say so.\n\n" +
            `Question: ${question.slice(0, 4_000)}`,
        },
      },
    ],
  };
}
