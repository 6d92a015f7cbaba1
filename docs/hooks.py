"""mkdocs hooks: the reference pages generated from the code. A page's `<!-- NAME -->`
line is replaced by the generated text (mkdocs.yml `hooks:`)."""

from harness import catalogue
from harness.nemesis import kinds
from harness.options import markdown_table

GENERATED = {
    "<!-- options -->": markdown_table,
    "<!-- fault-kinds -->": kinds.markdown_table,
    "<!-- scenarios -->": catalogue.markdown,
}


def on_page_markdown(markdown: str, **kwargs: object) -> str:
    for marker, make in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown
