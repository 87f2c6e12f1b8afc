"""Prompt building: the one place that knows base models from chat models.

GPT-Neo is a base model: it continues text, so it gets the prompt as it is (completion style).
SmolLM2-Instruct, the offline ``embedded`` model, is a chat model: it answers messages, so the
prompt goes through its chat template as the user's message.
"""

from __future__ import annotations

import functools
import re
import warnings

import torch

from .errors import ParameterError

SYSTEM_PROMPT = (
    "You are a blog writer. Write clear, friendly, well-formed English prose in full sentences."
)


def check_prompt(prompt, field: str = "prompt") -> str:
    """``prompt`` if it is text a model can take; a ParameterError naming ``field`` if not.

    Cheap and model-free, so every entry point calls it before any model loads.

    Example:
        >>> check_prompt("Why I bike to work", "topic")
        'Why I bike to work'
    """
    example = _EXAMPLES.get(field, _EXAMPLES["prompt"])
    if not isinstance(prompt, str):
        raise ParameterError(field, f"The {field} must be text (a str), not {type(prompt).__name__}.")
    if not prompt.strip():
        raise ParameterError(field, f"The {field} is empty. {example}")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate, e.g. from a broken copy and paste
        raise ParameterError(
            field, f"The {field} has a character that is not valid text at position {error.start} "
                   f"({prompt[error.start]!r}, half of a broken emoji or symbol). Delete it, or paste the "
                   "text again from its source.") from None
    return prompt


_EXAMPLES = {
    "prompt": "Give the model something to continue, for example 'The best thing about autumn is'.",
    "topic": "Say what the post is about, for example 'Why I bike to work'.",
    "text": "Give it some text to read, for example a paragraph you wrote.",
}


def blog_prompt(topic: str, chat: bool) -> str:
    """A prompt that starts a blog post about ``topic``, in the style the model understands.

    Example:
        >>> blog_prompt("Learning to bake bread", chat=False)
        '# Learning to bake bread\\n\\n'
    """
    check_prompt(topic, "topic")
    topic = topic.strip()
    if chat:
        return f"Write a short blog post about: {topic}"
    return f"# {topic}\n\n"


def encode(model, prompt: str, max_new_tokens: int, reply: str = "", turns: list[tuple[str, str]] = ()) -> torch.Tensor:
    """Token ids (shape 1 x n) for ``prompt`` on ``model``, leaving room for ``max_new_tokens``.

    ``reply`` is text the answer already starts with: after the chat template's assistant turn
    for a chat model, straight after the prompt for a base model. A prompt too long for the
    context keeps its newest tokens, with a warning. ``turns`` are a chat model's earlier
    (request, answer) pairs, before the prompt: the writer's examples (``blogneo.examples.turns``).

    What the user wrote is only ever text: control tokens typed into it (``<|im_start|>system``,
    ``<|endoftext|>``) are read as their characters, never as roles or the end of the text.
    """
    check_prompt(prompt)
    if not model.chat:  # a base model just continues the text
        prompt, reply = prompt + reply, ""
    tokenizer = model.tokenizer
    budget = model.context_length - max_new_tokens
    user_ids = text_ids(tokenizer, prompt)
    reply_ids = text_ids(tokenizer, reply) if reply else []
    overhead = len(_template(model, [], turns)) if model.chat else 0
    room = budget - overhead - len(reply_ids)
    if room < 1:
        most = model.context_length - overhead - len(reply_ids) - 1
        raise ParameterError(
            "max_new_tokens",
            f"max_new_tokens={max_new_tokens} leaves no room for the prompt in the model's "
            f"{model.context_length}-token context. Use at most {most}.")
    if len(user_ids) > room:
        warnings.warn(
            f"The prompt is {len(user_ids)} tokens, more than the {room} that fit beside "
            f"max_new_tokens={max_new_tokens} in the {model.context_length}-token context. "
            f"Keeping the newest {room} tokens.", stacklevel=3)
        user_ids = user_ids[-room:]
    ids = _template(model, user_ids, turns) if model.chat else user_ids
    return torch.tensor([ids + reply_ids], dtype=torch.long)


def text_ids(tokenizer, text: str) -> list[int]:
    """Token ids for text a person wrote: special tokens spelled out in it stay plain characters."""
    return tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def banned_ids(tokenizer, phrases: tuple[str, ...]) -> list[list[int]]:
    """Token sequences that spell each phrase as it can appear: as given, lower case, capitalised,
    in sentence case, in title case or as a headline (title case, small words lower), with its
    apostrophes straight or typeset (’), at a line's start or after a space; what transformers'
    ``bad_words_ids`` forbids. A phrase that starts with ``^`` is spelt only after a line break (one or two), which
    is also how a reply starts after a prompt that ends its line.

    Example:
        >>> len(banned_ids(model.tokenizer, ("delve",)))  # delve, Delve, " delve", " Delve"
        4
        >>> len(banned_ids(model.tokenizer, ("^Dear",)))  # "\\nDear", "\\n\\nDear", "\\ndear", "\\n\\ndear"
        4
    """
    sequences: list[list[int]] = []
    for phrase in phrases:
        starts = ("\n", "\n\n") if phrase.startswith("^") else ("", " ")
        phrase = phrase.lstrip("^").strip()
        title_case = [word[:1].upper() + word[1:] for word in phrase.split()]
        headline = [w.lower() if i and w.lower() in _SMALL_WORDS else w for i, w in enumerate(title_case)]
        variants = (phrase, phrase.lower(), phrase[:1].upper() + phrase[1:], phrase[:1].upper() + phrase[1:].lower(),
                    " ".join(title_case), " ".join(headline))  # "Taught A Marathon", "Taught a Marathon"
        variants += tuple(v.replace("'", "\u2019") for v in variants if "'" in v)  # "today’s" as typeset
        for variant in dict.fromkeys(variants):
            for text in (start + variant for start in starts):
                ids = text_ids(tokenizer, text)
                if ids and ids not in sequences:
                    sequences.append(ids)
    return sequences


# A prompt (or a reply) that ends with a Markdown heading line: the text asked for goes under that heading.
UNDER_HEADING = re.compile(r"(?:\A|\n)#{1,6}[ \t]+\S[^\n]*\n+\Z")


def under_heading(model, prompt: str, reply: str = "") -> bool:
    """Whether the text ``model`` writes next goes under a heading: a chat model's answer starts after its reply, a
    base model continues the prompt and the reply together ("# My topic\n\n", "## Tips\n")."""
    return bool(UNDER_HEADING.search(reply if model.chat else prompt + reply))


@functools.lru_cache(maxsize=8)  # keyed by the tokenizer object itself, which the cache keeps alive
def heading_start_ids(tokenizer) -> tuple[int, ...]:
    """Ids of the tokens that would open the text under a heading with another heading or a blank line: those
    spelt as "#" marks (after any spaces) or as white space alone. transformers suppresses them at the first new
    token (``begin_suppress_tokens``) when the prompt ends with a heading line (``UNDER_HEADING``): asked for a
    section under "## 5 Simple Tank Maintenance Tips", the embedded model opened all five rounds with a
    sub-heading ("### 1. Rinse the filter"), which a stop at the next one or the part's cleaning left empty."""
    found = []
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        if text and (not text.strip() or text.lstrip().startswith("#")):
            found.append(token_id)
    return tuple(found)


# Words a headline keeps in lower case after its first word ("What Running a Marathon Taught Me").
_SMALL_WORDS = {"a", "an", "the", "and", "but", "or", "nor", "of", "to", "in", "on", "at", "by", "for", "with", "as"}

# Stands in for the user's message while the chat template is rendered; a private-use character
# that no template changes, so the rendered text splits exactly around the message.
_SLOT = "\ue000"


def _template(model, user_ids: list[int], turns: list[tuple[str, str]] = ()) -> list[int]:
    """The chat template's ids around ``user_ids``, which are placed as they are, never re-read; ``turns``
    (request, answer) come before them as the conversation so far."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for request, answer in turns:
        messages += [{"role": "user", "content": request}, {"role": "assistant", "content": answer}]
    messages.append({"role": "user", "content": _SLOT})
    text = model.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    before, after = text.split(_SLOT)
    ids = model.tokenizer(before, add_special_tokens=False)["input_ids"]
    return ids + list(user_ids) + model.tokenizer(after, add_special_tokens=False)["input_ids"]


# --- A whole post (blogneo.post) ------------------------------------------------------------------
# One (prompt, reply) pair per step, for each kind of model. ``reply`` is what the answer is made
# to start with: a chat model gets it after its assistant turn, a base model straight after the
# prompt. Placeholders: {topic} {title} {sections} {headings} {outline} {number} {heading} {previous}
# {tone} {kind} {a_kind} {shape} {words} {tags} {page}. Chat models get short, direct requests for one paragraph:
# measured on the embedded model (6 sections x 2 seeds), quoting the outline and the previous part made it
# answer as an editor ("Here is your rewritten version...") in 5 of 12 sections, one short request
# in 1 of 12. Its answer then starts with the part's own Markdown heading, as if the post were
# under way: measured on 6 posts x 2 seeds (48 prose parts), the parts that opened as a chat reply or
# a note about the writing ("I'm so glad I could assist you", "The following is", "To start off my
# piece") fell from 14 to 4. Giving it the whole post so far as its own answer instead did worse:
# it numbered the parts as a list ("3. Saving money") and wrote fragments. Base models (GPT-Neo)
# get documents to continue, with a worked example where the format matters (few-shot), the
# previous part included.
TONES = ("friendly", "professional", "persuasive", "humorous")
POST_TYPES = ("how-to", "listicle", "opinion", "review", "personal story")
# What each post type's sections are: it shapes the outline.
SHAPES = {
    "how-to": "the steps of a how-to guide, each heading an action the reader takes",
    "listicle": "the items of a list post, each heading one item of the list",
    "opinion": "the arguments of an opinion piece, each heading one reason",
    "review": "the aspects a review weighs, each heading one aspect",
    "personal story": "the moments of a personal story, in the order they happened",
}
POST_TEMPLATES = {
    "chat": {
        "title": ("Write a catchy title for {a_kind} blog post about: {topic}\nReply with the title only, "
                  "without an author's name.", ""),
        "description": ('Describe the blog post "{title}" in one sentence of at most 25 words.', "This post"),
        "tags": ("Suggest four short tags for a blog post.\n\nExample:\nTopic: Learning to bake bread\n"
                 "Tags: baking, bread, home cooking, beginners\n\nTopic: {topic}", "Tags:"),
        "heading": ('Write the outline of the {kind} blog post "{title}": {sections} short headings, {shape}. '
                    "One per line, no introduction or conclusion, and none that repeats the title.",
                    "{outline}{number}."),
        "introduction": ('Write the {tone} opening paragraph, of about {words} words, of {a_kind} blog post titled '
                         '"{title}".', "# {title}\n"),
        "section": ('Write a {tone} paragraph of about {words} words for {a_kind} blog post titled "{title}", '
                    "about: {heading}.", "## {heading}\n"),
        # not "closing paragraph": in a professional tone that asked for a letter's ("Dear [Name], I hope...")
        "conclusion": ('Write the last paragraph of {a_kind} blog post titled "{title}", summing it up in about '
                       "{words} words, in a {tone} tone.", "## Conclusion\n"),
    },
    "base": {
        "title": ("Topic: Learning to bake bread\nTitle: The Joy of Baking Your First Loaf\n\n"
                  "Topic: {topic}\nTitle:", ""),
        "description": ("Title: The Joy of Baking Your First Loaf\nSummary: This post walks you through your "
                        "first loaf, from flour to crust.\n\nTitle: {title}\nSummary:", " This post"),
        "tags": ("Title: The Joy of Baking Your First Loaf\nTags: baking, bread, home cooking, beginners\n\n"
                 "Title: {title}\nTags:", ""),
        "heading": ("Type: how-to\nTitle: How to Start Running\nSections:\n1. Choose your shoes\n2. Run slowly\n"
                    "3. Plan the first week\n4. Stay motivated\n\nType: {kind}\nTitle: {title}\nSections:\n",
                    "{outline}{number}."),
        # a blog page to continue: its header (title, type, tone, tags), the previous part, the part's heading
        "introduction": ("{page}", ""),
        "section": ("{page}{previous}\n\n## {heading}\n\n", ""),
        "conclusion": ("{page}{previous}\n\n## Conclusion\n\n", ""),
    },
}

# What ends each step: a heading stays one line; a part of the post ends before the next heading,
# a rule, a note or a hashtag (" #": social-media debris, "#HealthyLiving", at a part's end; "C#" stays).
_PART_END = ("\n#", "\n**", "\n\n\n", "\n---", "\nNote:", " #")
POST_STOPS = {
    "title": ("\n",), "description": ("\n",), "tags": ("\n",), "heading": ("\n",),
    "introduction": _PART_END, "section": _PART_END, "conclusion": _PART_END,
}


# The tags prompt's example is about baking bread, and without a ban its words came back on other topics ("kitchen,
# food preparation, culinary arts" for a job interview: 4 of 20 topics, 3 candidates each): the tags step bans these
# unless the topic shares them ("Baking sourdough bread"). Every phrase the checker names is banned from rules.toml.
TAGS_EXAMPLE_DOMAIN = ("baking", "bread", "home cooking", "beginners", "kitchen", "food", "culinary", "cooking", "bake")
# What each post type is called on its page, in the base model's header ("A humorous opinion piece about ...").
KIND_NAMES = {"how-to": "how-to guide", "listicle": "list post", "opinion": "opinion piece", "review": "review",
              "personal story": "personal story"}


def post_prompt(step: str, chat: bool, **fields) -> tuple[str, str]:
    """(prompt, reply) for one step of a post, filled in.

    ``kind`` (the post type) also fills ``shape``, what its sections are.

    Example:
        >>> post_prompt("title", chat=False, topic="Sourdough")[0].splitlines()[-2:]
        ['Topic: Sourdough', 'Title:']
    """
    prompt, reply = POST_TEMPLATES["chat" if chat else "base"][step]
    fields = {"tone": TONES[0], "kind": "opinion", "words": 100, "tags": "", **fields}
    fields.setdefault("topic", fields.get("title", ""))
    fields.setdefault("title", fields["topic"])
    fields.setdefault("shape", SHAPES.get(fields["kind"], "its main sections"))
    fields["a_kind"] = _a(fields["kind"])
    # a base model's page header says what the post is, so the tone and the type reach what it continues
    dek = f"{_a(fields['tone']).capitalize()} {KIND_NAMES.get(fields['kind'], fields['kind'])} about {fields['topic']}."
    tags = f" Tags: {fields['tags']}." if fields["tags"] else ""
    fields["page"] = f"# {fields['title']}\n\n*{dek}*{tags}\n\n"
    return prompt.format(**fields), reply.format(**fields)


def _a(word: str) -> str:
    """``word`` with its article: "an opinion", "a review"."""
    return ("an " if word[:1].lower() in "aeio" else "a ") + word
