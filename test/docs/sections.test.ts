import { describe, expect, test } from "bun:test";
import type { Page } from "../../src/docs/page.ts";
import { inlineText, slugify, splitSections } from "../../src/docs/sections.ts";
import { loadCorpus } from "../support/corpora.ts";

function page(markdown: string, title = "Guide"): Page {
  return { id: "guide", title, url: "https://docs.example/guide", markdown };
}

const outline = (markdown: string, title?: string) =>
  splitSections(page(markdown, title)).map(({ heading, anchor, level }) => ({ heading, anchor, level }));

describe("splitSections", () => {
  test("splits at ATX headings and excludes the heading line from the text", () => {
    const sections = splitSections(page("Intro text.\n\n## Install\n\nRun it.\n\n### Options\nSome.\n"));
    expect(sections).toEqual([
      { pageId: "guide", heading: "Guide", anchor: "", level: 0, text: "Intro text." },
      { pageId: "guide", heading: "Install", anchor: "install", level: 2, text: "Run it." },
      { pageId: "guide", heading: "Options", anchor: "options", level: 3, text: "Some." },
    ]);
  });

  test("ignores # lines inside ``` and ~~~ fences, including longer fences around shorter ones", () => {
    const markdown = [
      "## Real",
      "```sh",
      "# a shell comment",
      "```",
      "~~~",
      "## not a heading either",
      "~~~",
      "````md",
      "```",
      "# still inside the four-backtick fence",
      "```",
      "````",
      "  ```ts",
      "  # indented fence, in a list item",
      "  ```",
      "## Next",
    ].join("\n");
    expect(outline(markdown).map((s) => s.heading)).toEqual(["Real", "Next"]);
    expect(splitSections(page(markdown))[0]!.text).toContain("# a shell comment");
  });

  test("an unclosed fence runs to the end of the page", () => {
    expect(outline("## A\n```\n## B").map((s) => s.heading)).toEqual(["A"]);
  });

  test("requires a space after the #s and at most three spaces of indentation", () => {
    expect(outline("#hashtag\n    # indented code\n#######seven\n   ## Three spaces").map((s) => s.heading)).toEqual([
      "Guide",
      "Three spaces",
    ]);
  });

  test("strips closing #s and formatting from the heading text", () => {
    expect(outline("## Install ##\n### `setCookie` & **bold** [link](/x) <Badge text=\"new\" />")).toEqual([
      { heading: "Install", anchor: "install", level: 2 },
      { heading: "setCookie & bold link", anchor: "setcookie--bold-link", level: 3 },
    ]);
  });

  test("gives duplicate anchors GitHub-style -1, -2 suffixes, skipping taken ones", () => {
    const anchors = outline("## Example\n## Example\n## Example-1\n## Example\n## Options\n## Options").map((s) => s.anchor);
    expect(anchors).toEqual(["example", "example-1", "example-1-1", "example-2", "options", "options-1"]);
  });

  test("uses {#custom-id} suffixes as anchors and drops them from the heading", () => {
    expect(outline("## Getting started {#start}\n## Other {#start}\n## Attrs {#my-id .class}")).toEqual([
      { heading: "Getting started", anchor: "start", level: 2 },
      { heading: "Other", anchor: "start-1", level: 2 },
      { heading: "Attrs", anchor: "my-id", level: 2 },
    ]);
  });

  test("lead section: dropped when blank, kept when it is all there is", () => {
    expect(outline("\n\n## First\ntext").map((s) => s.anchor)).toEqual(["first"]);
    expect(outline("No headings at all.")).toEqual([{ heading: "Guide", anchor: "", level: 0 }]);
    expect(outline("")).toEqual([{ heading: "Guide", anchor: "", level: 0 }]);
  });

  test("folds a first H1 equal to the title into the lead section", () => {
    const sections = splitSections(page("# Cookie Helper\n\nIntro.\n\n## Import\ncode", "Cookie Helper"));
    expect(sections.map((s) => [s.heading, s.anchor, s.level, s.text])).toEqual([
      ["Cookie Helper", "", 0, "Intro."],
      ["Import", "import", 2, "code"],
    ]);
  });

  test("keeps a first H1 that differs from the title as a section", () => {
    expect(outline("# Hono\n\nIntro.", "Hono - Web framework")).toEqual([{ heading: "Hono", anchor: "hono", level: 1 }]);
  });

  test("every section of the Hono corpus has a unique anchor within its page", async () => {
    for (const p of await loadCorpus("hono")) {
      const anchors = splitSections(p).map((s) => s.anchor);
      expect(new Set(anchors).size).toBe(anchors.length);
      for (const s of splitSections(p)) expect(s.heading).not.toMatch(/^#|`|<Badge/);
    }
  });
});

describe("slugify", () => {
  test.each([
    ["Hello World", "hello-world"],
    ["`setCookie` & `setSignedCookie`", "setcookie--setsignedcookie"],
    ["`__Secure-` and `__Host-` prefix", "__secure--and-__host--prefix"],
    ["set() / get()", "set--get"],
    ["Routing with `host` Header value", "routing-with-host-header-value"],
    ["Don't make \"Controllers\" when possible", "dont-make-controllers-when-possible"],
    ["**Bold** and _emphasis_ and *more*", "bold-and-emphasis-and-more"],
    ["[Secure Headers](/docs/middleware) middleware", "secure-headers-middleware"],
    ["jwks_uri: `string`", "jwks_uri-string"],
    ["✅ Do: Use GET Routes", "-do-use-get-routes"],
    ["Über Ärger", "über-ärger"],
    ["日本語の見出し", "日本語の見出し"],
    ["1. Setup", "1-setup"],
    ["<Badge type=\"info\" text=\"optional\" /> maxSize: `number`", "maxsize-number"],
    ["Escaped \\* star and http.user\\_agent", "escaped--star-and-httpuser_agent"],
    ["Custom {#my-anchor}", "my-anchor"],
  ])("%p → %p", (heading, anchor) => {
    expect(slugify(heading)).toBe(anchor);
  });
});

describe("inlineText", () => {
  test("keeps code span contents literally and removes formatting elsewhere", () => {
    expect(inlineText("Use `a*b_c` with **care** and ![alt](x.png)")).toBe("Use a*b_c with care and alt");
  });
});
