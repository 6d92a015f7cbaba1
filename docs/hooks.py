"""mkdocs hooks: the reference pages generated from the code. A page's `<!-- NAME -->`
line is replaced by the generated text, indented as the line is (mkdocs.yml `hooks:`)."""

from harness import catalogue, exit_codes
from harness.nemesis import kinds
from harness.options import markdown_table

GENERATED = {
    "<!-- options -->": markdown_table,
    "<!-- fault-kinds -->": kinds.markdown_table,
    "<!-- scenarios -->": catalogue.markdown,
    "<!-- checkers -->": catalogue.checkers_markdown,
    "<!-- contracts -->": catalogue.contracts_markdown,
    "<!-- exit-codes -->": exit_codes.markdown_table,
}


def on_page_markdown(markdown: str, **kwargs: object) -> str:
    out = []
    for line in markdown.split("\n"):
        make = GENERATED.get(line.strip())
        if make is None:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out += [indent + generated for generated in make().split("\n")]
    return "\n".join(out)
