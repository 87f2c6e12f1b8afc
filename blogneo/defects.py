"""What a reader sees at once in a generated post: one checker, used everywhere.

Best-of-N and retries in ``write_post`` use it (a candidate with a defect loses to one without),
``Post.defects()`` reports it, and ``benchmarks/post_quality.py`` measures with it. The checks are
plain rules over strings, each a few lines, so that they are cheap, deterministic and readable:

  meta-talk          the text addresses the request or the writer: "Here is your...", "Sure!",
                     "I'd like you to...", "As an AI...", "the article you wrote", "In this post I will...",
                     a letter's "Dear Javierino," or "Best regards," on a line of its own, a chat
                     reply's "I'm so glad you're enjoying my blog!", a note about the writing ("To start off
                     my next posting", "I've condensed the original text"),
                     a title about the writing ("... : A Blogging Guide"), "This was an article on...",
                     "This is an excellent piece that...", an editor's notes ("I've added the word 'admire'",
                     "it should be 'There' instead of 'They're'"), the writer's work or its readers ("a review
                     that I've been working on", "my final entry into this new series", "readers will love"),
                     a message about a message ("The above message ... here at the blog"),
                     a chat reply's "I'm sorry to hear that you're..." or "I'm sorry to inform you", a note on
                     the text ("the text has been...", "This post is titled..."),
                     a heading about the post or its reader ("This is an awesome article about...",
                     "This is your first product review", the text described rather than a section named ("A
                     bicycle is mentioned as...", "In this anecdote", "The main idea"), "share your own stories",
                     "What is your goal for this blog?", "What's on your mind?", "Welcome"), the writer
                     speaking ("I'm going to write you something nice today"), an instruction for the
                     writer ("Finish with a summary of everything you've shared so far")
  artifact           template or chat debris: <<...>>, <|...|>, role markers ("Assistant:"), stray
                     "Title:" or "Tags:" labels, a request's fields ("Purpose:", "Audience:"), a year or
                     "(Blog)" in brackets in a title,
                     [placeholders] ("[YourEmail@...]", "[Step]", "[#tag]"), hashtags outside the tags, a
                     news dateline ("LONDON (BBC) -"),
                     a Markdown heading inside prose, a list in a part that starts past 1 ("2. **Choose...**"),
                     a placeholder heading ("Part 2", "Step 3", "What?", "In addition", "3:56pm"), a quote
                     a heading never closes ('Preview: "Preheat your oven'), a line in emphasis opening a
                     part ("*About the World*"), a tag that is a fragment ("why", "als g") or words run
                     together ("bicyclesettingtyres")
  title-repeated     a section heading that repeats the title, or is made of its words ("An Awesome Reviews")
  duplicate-heading  a heading that repeats an earlier one (a plural aside: "Awesome Review", "Awesome Reviews")
  heading-number     a heading carrying another item's number or a separator ("...? 2", "... | 4. The",
                     "Planning a weekend - Step 3", "Step #2", "1. What's next"),
                     or a description after a dash ("Reasons to learn - This is another easy topic")
  unfinished         (also) a heading cut off mid-phrase: over 10 words, or ending on a word such as
                     "the", "and", "you're", "worth", "should", a comma, "&", a separator ("... - July 2018 |")
                     or a question word after one ("... Bloomed Bloomers - How"); a
                     heading going on past a sentence's end ("What is your goal? How do you want"); a title
                     so ending; a title or heading whose line ran out of tokens
  off-topic          a title that keeps under half of the topic's key words ("The City of Lost Dreams"
                     for "Moving to a new city alone"); a tag about the writing, not the topic ("grammar,
                     editing" on a guitar review)
  invented-author    a byline in a title ("... by Chris Larkin", "... by: Ariel Bloom (2019)") or in the text
                     ("By: Emma Johnson", or a name and a date on a line of their own: "Bridget Blackley
                     (21 February 2019)")
  unfinished         a prose part (or the description) that does not end on a whole sentence, or a line
                     inside it that stops mid-sentence ("5/8th Edition  23 pages" and a new line)
  too-short          a part far shorter than asked: prose under 40% of its target words (at least
                     12 words), a description under 5 words, an empty title, heading or tag list
  too-long           a description over 160 characters (what search engines show), prose over 2.5
                     times its target words, a title over 14 words
  repetition         a run of four words repeated more than three times (a loop); a word twice in a row in
                     a title or heading ("Wedding Wedding Planning")

Any defect makes a candidate lose to one without, in best-of-N. Most are ``BLOCKING``: a reader
sees them at once and no post should keep one. The measures of length and the loop check
(too-short, too-long, repetition) are not: a part a little off its length still reads as a post.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .text import (
    HEADING_SENTENCE_END,
    HEADING_WORDS,
    LABEL,
    MIN_WORDS,
    NEXT_STEP,
    STOPWORDS,
    TITLE_WORDS,
    VAGUE,
    ends_sentence,
    keywords,
    ngram_repeats,
    shares_stem,
    title_phrases,
    topic_share,
    trim_to_sentence,
)

KINDS = ("meta-talk", "artifact", "title-repeated", "duplicate-heading", "heading-number", "off-topic",
         "invented-author", "unfinished", "too-short", "too-long", "repetition")
#: Kinds no post should keep (see the module's doc).
BLOCKING = ("meta-talk", "artifact", "title-repeated", "duplicate-heading", "heading-number", "off-topic",
            "invented-author", "unfinished")
#: What a part is, for the checks that apply to it.
PART_KINDS = ("title", "description", "tags", "heading", "prose")
SHORT_SHARE = 0.4  # a prose part under this share of its target words is too short
LONG_SHARE = 2.5  # and one over this multiple of them too long
DESCRIPTION_CHARS = 160  # a meta description longer than this is cut off in search results
TOPIC_SHARE = 0.5  # a title keeping fewer of the topic's key words than this is off the topic

_META_TALK = re.compile("|".join([
    r"\bhere(?:'s|\u2019s| is| are)\s+(?:your|the|a|an|my|some)\b[^.!?\n]*\b(?:version|post|article|blog|"
    r"introduction|conclusion|section|paragraph|title|outline|draft|rewrite|text|response|answer)",
    r"^\s*(?:sure|certainly|of course|absolutely|okay|ok)\b[!,.]",
    r"\b(?:I'd|I would) like you to\b", r"\bcan you (?:please )?write\b", r"\bplease write\b",
    r"\bas an ai\b", r"\b(?:an? )?(?:ai )?language model\b",
    r"\b(?:the|this|your) (?:article|post|blog post|piece|essay|text|draft) you(?:'ve| have)? "
    r"(?:just )?(?:wrote|written|asked|requested|provided|shared|gave|sent)\b",
    r"\bin this (?:[a-z-]+,? (?:and )?){0,3}(?:blog ?post|blog|post|article|piece|essay|review|guide|summary|"
    r"overview)\b[^.!?\n]{0,80}?\b(?:I|we)"
    r"(?: will|'ll|\u2019ll| am going to| are going to| would like to| want to| aim(?:ed)? to| tried to| delve|"
    r" explore| discuss)\b",
    r"\b(?:this|my) (?:blog ?post|blog|post|article|piece|essay|guide) (?:will|is going to|aims to) (?:cover|explore|"
    r"discuss|show|share|walk|take)\b", r"\bI am writing (?:a|this) (?:blog|post|article|piece)\b",
    r"\bI am writing to (?:you|provide|share|inform|let you|tell you)\b", r"\bladies and gentlemen\b",
    # a chat reply to the person asking: "I'm so glad you're enjoying my blog!", "I'm glad to hear that you
    # enjoyed...", "In light of your desire to..."
    r"\bI(?:'m|\u2019m| am) (?:so |really |very |just )?(?:glad|happy|delighted|thrilled) "
    r"(?:to (?:hear|see) )?(?:that )?(?:you|your|we(?:'re| are) both)\b",
    r"\bI(?:'m|\u2019m| am) (?:so |really |very |just )?glad (?:that )?I could (?:help|provide|assist)\b",
    # a note about the writing itself: "To start off my next posting", "I've condensed the original text"
    r"\bto (?:start off|begin|kick off|conclude|wrap up|end) (?:my|this) (?:next |personal )?(?:piece|post|blogpost|"
    r"blog ?post|article|essay|intro(?:duction)?|posting|review|paragraph)\b",
    r"\bthe original text\b", r"\bI(?:'ve|\u2019ve| have) (?:condensed|shortened|summari[sz]ed|rewritten|reworded)\b",
    r"\bintro(?:duction)? sentence\b",
    r"\bI(?:'m|\u2019m| am) writing to (?:you|provide|share|inform|let you|tell you)\b",
    r"^\s*(?:#+\s*)?welcome to (?:my|our) blog\b",
    r"\bI(?:'d|\u2019d| would) be (?:more than )?(?:happy|delighted|glad) to (?:help|share|assist)\b",
    r"\b(?:can be|could be|is) rephrased\b", r"\bfrom your list\b", r"\bwelcome to our (?:website|blog review)\b",
    r"\b(?:in light of|given|based on) your (?:desire|request|wish|interest|question|message)\b",
    # a letter's salutation or sign-off on a line of its own ("Dear Javierino,", "Best regards,")
    r"^\s*dear [\w.' -]{1,40},\s*$", r"^\s*(?:best|kind|warm) regards\b[,.!]?\s*$",
    r"^\s*(?:sincerely|yours truly)[,.]?\s*$",
    r"\b(?:rewritten|revised|edited|unedited|improved|updated) version\b", r"\bedited so far\b",
    r"\bthis (?:message|text|paragraph|piece|essay|passage|response) (?:effectively |successfully |clearly )?"
    r"(?:conveys|reads|is written|captures|highlights|resonates)\b",
    r"\b(?:this|the above|that) (?:sentence|paragraph|passage|text)(?! messages?)\b(?! (?:of|about|from|by)\b)",
    r"\bthe (?:text|sentence|paragraph|passage) above\b",
    # the writer's own articles, or the reader's audience: "my favorite article is now available", "my blog posts
    # have made the news", "a listicle blog I'm writing", "more articles like this", "your readers"
    r"\b(?:your|my) (?:[a-z]+ )?(?:article|paragraph|essay|draft|blog ?posts?)\b",
    r"\b(?:blog|post|article|piece|listicle) I(?:'m|\u2019m| am) writing\b", r"\barticles? like this\b",
    r"\byour readers\b", r"\b(?:for|on|to|of) this blog\b",
    r"^\s*dear (?:\[[^\]\n]*\]|sir|madam|editor|team)",
    r"\bI am writing an? (?:[a-z]+ )?(?:review|post|article|essay)\b",
    r"\bthe author uses\b",
    r"\b(?:this|the) (?:article|post|text|essay) (?:discusses|aims to|describes|highlights|offers|provides)\b",
    r"\byou(?:'re| are) sharing your\b", r"\bI made (?:several |some |a few )?(?:changes|edits|revisions)\b",
    # a quoted draft, then a comment on it ("This piece...", "How does this help you?", "I made changes...")
    r"\A\s*[\"\u201c][^\"\u201d\n]{80,}[\"\u201d]\s*\n\s*\n\s*"
    r"(?:This|That|Here|How|I|The (?:text|piece|above|critique))\b",
    r"\byour feedback\b", r"\bconstructive feedback\b", r"\bI'm here to (?:help you|provide you)\b",
    r"\b(?:proper|good|correct) grammar\b", r"\bgrammar improvements?\b",
    r"^\s*in this (?:article|blog ?post|post)\s*$",
    r"\bwork you(?:'ve| have) done on (?:our|the|this|your) blog\b",
    r"\byou(?:'re| are) doing (?:an? )?(?:excellent|great|amazing|fantastic|wonderful) job\b",
    r"\byour expertise shines\b", r"\bgrammar (?:errors?|mistakes?)\b",
    r"\byour (?:last |final )?edits?\b", r"\bediting (?:the |written )?text\b", r"\bin this piece,? you\b",
    r"\b(?:I hope this helps|let me know if|feel free to (?:ask|let me know))\b",
    r"\b(?:your|the) (?:request|prompt|instructions)\b", r"\bword count\b",
    r"\byour (?:entire |whole )?(?:message|opinion piece|essay|draft)\b",
    r"\b(?:has been|was) (?:crafted|generated|rewritten)\b", r"\bI hope this (?:message|email|letter) finds you\b",
    r"\b(?:glad|happy) (?:that )?you enjoyed\b", r"^\s*dear [a-z]+,",
    r"\byour (?:posting|dedication to (?:blogging|writing|sharing))\b", r"\bthe following is\b",
    r"\bmy (?:next|last|previous) (?:message|posting|blog ?post|task|piece)\b",
    r"\b(?:happy|glad) to help (?:you )?(?:write|rewrite|edit|create)\b", r"\bthis statement needs\b",
    r"\b(?:this|your) template\b",
    r"\bI (?:wholeheartedly |completely |totally |fully )?agree (?:that|with you)\b",
    # the writer talking to the person asking: "I'm going to write you something nice today", "everything
    # you've shared so far"
    r"\bI(?:'m|\u2019m| am) going to write\b", r"\bwrite you (?:a|an|some|something)\b",
    r"\b(?:you(?:'ve|\u2019ve| have) shared|shared so far)\b",
    # a chat assistant's or a fan's reply: "Well I'm here to help it be yours!", "I'm so glad I found you!",
    # "Thank you so much for this amazing idea", "the writing style ... within this beautiful piece called"
    r"\bI(?:'m|\u2019m| am) here to help\b", r"\b(?:glad|happy|thrilled) I found you\b",
    r"\bthank you (?:so much )?for (?:this|the|your) (?:[a-z]+ )?(?:idea|question|request|suggestion|topic)\b",
    r"\b(?:this|the) (?:[a-z]+ )?piece called\b", r"\byour comment\b",
    r"\bas the (?:title|heading) (?:suggests|says)\b", r"\byou(?:'re|\u2019re| are) talking about\b",
    # a chat reply's sympathy or a note on the text: "I'm sorry to hear that you're having trouble finding...",
    # "I'm glad I could mention this because the text has been...", "This post is titled ..."
    r"\bI(?:'m|\u2019m| am) (?:so |very |really )?sorry to (?:hear|inform you)\b",  # "... inform you that I am"
    r"\bI(?:'m|\u2019m| am) (?:so |really |very |just )?glad (?:that )?I could (?:mention|share|write|say)\b",
    r"\bthe text (?:has been|had been|is written|was written|you|I)\b",
    r"\b(?:this|the|my) (?:blog ?post|post|article|piece|essay|review|story|guide) is "
    r"(?:titled|called|named|entitled)\b",
    # "This was an article on", "This is an excellent piece that demonstrates..."
    r"\b(?:this|that|it) (?:was|is) an? (?:\w+ )?(?:article|blog ?post|post|piece) (?:on|about|that|which)\b",
    # an editor's notes on a text: "I've added the word 'admire' to...", "it should be 'There' instead of
    # 'They're'", "So the sentence would read: ..."
    r"\bI(?:'ve|\u2019ve| have) (?:added|changed|replaced|removed|corrected|edited|rewritten|revised|rephrased) "
    r"(?:the|a|an|some|this|that) (?:word|words|phrase|sentence|sentences|text|paragraph|comma|punctuation|line)\b",
    r"\b(?:should|would|could) (?:be|read) [\"'\u2018\u201c][^\"'\u2019\u201d\n]{1,40}[\"'\u2019\u201d] instead of\b",
    r"\bthe sentence (?:would|should|could|now) read\b",
    # a description about the writer's work or its readers: "an exceptional electric kettle review that I've been
    # working on ... my final entry into this new series", "a personal story that I'm sure readers will love"
    r"\b(?:review|post|article|entry|piece|blog)\b[^.!?\n]{0,20}\bI(?:'ve|\u2019ve| have) been working on\b",
    r"\bentry (?:in|into) (?:this|my|the) (?:new )?series\b", r"\breaders? will (?:love|enjoy|relate)\b",
    # prose about a message, not the topic: "The above message is one that has been shared on our blog ... I am
    # thrilled to share this with everyone here at the blog"
    r"\bthe (?:above|following|previous) (?:message|text|paragraph|email|note)\b",
    r"\bhere (?:at|on) (?:the|our|this) (?:blog|website|site)\b",
]), re.I | re.M)
_ARTIFACT = re.compile("|".join([
    r"<<[^<>\n]*>>", r"<\|[^|\n]*\|>", r"^\s*(?:user|assistant|system)\s*:",
    LABEL, r"\((?:premises?|postscript)\)",
    r"\[(?:insert|your|add|name|topic|user|step|link|url|e-?mail|#)[^\]\n]*\]", r"^\s*#{1,6}\s", r"\A\s*\d+\)\s",
    r"^\s*\d{1,2}[.)]\s*$",  # a list's number on a line of its own
    r"^[ \t]*[A-Z]{3,}(?:[ -][A-Z]{3,})*,? \([A-Z][\w ]*\) ?[-\u2013\u2014]",  # a news dateline: "LONDON (BBC) -"
    # a line in emphasis opening a part, a heading in disguise under the part's own: "*About the World*"
    r"\A[ \t]*(?:\*{1,3}|_{1,3})[^*_\n.!?]{1,80}(?:\*{1,3}|_{1,3})[ \t]*$",
]), re.I | re.M)
_HASHTAG = re.compile(r"(?<![\w&#])#[A-Za-z]\w{2,}")  # social-media debris in prose or a title: "#FamilyVideoCall"
_BYLINE = re.compile(r"(?:\bby|[|\u2013\u2014-])\s+[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+\s*$|"
                     # "by: Ariel Bloom (2019)", "by Alex", "by Daily Mail Reporter Liz Starr"
                     r"\b[Bb]y:?\s+(?:[A-Z][\w.'-]*\s+){0,4}[A-Z][\w.'-]*(?:\s*\(\d{4}\))?[!?.]*\s*$")
_TITLE_ARTIFACT = re.compile(r"\((?:\d{4}|(?i:blog|post|article))\)")  # "... (2016)", "... Guide (Blog)"
_MONTH = "(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_BYLINE_IN_PROSE = re.compile(r"\b(?i:by|written by|author):\s*[A-Z][a-z]+\s+[A-Z][a-z]+|"
                              r"\b(?i:my name is) [A-Z][a-z]+\s+[A-Z][a-zA-Z]+|"
                              r"^[ \t]*(?i:by)\b[ .:]*[A-Z][a-z]+ [A-Z][a-z]+[ \t]*$|"  # "By . Jessica Chen"
                              # a name and a date on a line of their own: "Bridget Blackley (21 February 2019)"
                              rf"^[ \t]*[A-Z][a-z]+ [A-Z][a-z]+,? \(?(?:\d{{1,2}} )?{_MONTH}"
                              r"(?: \d{1,2})?,? \d{4}\)?[ \t]*$",
                              re.M)
# A heading about the post or its reader, not a section: "This is an awesome article about...", "Welcome",
# a chat's question to the reader ("What is your opinion on this topic?", "What's on your mind?", "Is there
# something else you'd like more information about?"), the writer speaking ("I'm excited to share..."), or an
# instruction for the writer ("Provide step by step instructions on...", "Finish with a summary of...").
_HEADING_META = re.compile(r"\b(?:this|my|our|your|an?)\s+(?:[\w-]+\s+)?(?:article|blog ?post)\b|"
                           r"\b(?:this|my|our|your)\s+blog\b|^\s*welcome\b|\bthis topic\b|\bon your mind\b|"
                           r"\bthe author\b|"
                           # the text described, not a section named: "A bicycle is mentioned as a mode for
                           # transportation", "In this anecdote", "The story begins with a personal anecdote", "The
                           # main idea"; the reader asked to write: "It's time for you to share your own stories"
                           r"\b(?:is|are|was|were) mentioned\b|"
                           r"\bin this (?:anecdote|story|section|paragraph|piece|part)\b|"
                           r"\bthe story begins\b|\bpersonal anecdote\b|^\s*the main (?:idea|point|message)\s*$|"
                           r"\bshare your (?:own )?(?:stories|story|thoughts|experiences?)\b|"
                           r"\byour (?:opinion|thoughts|feedback)\b|\bis there (?:something|anything) else\b|"
                           r"^\s*(?:this|here) is your\b|\byour (?:first|next) (?:[\w-]+ )?(?:review|post|listicle)\b|"
                           r"\byou(?:'d|\u2019d| would) like (?:more |to know |me to )|"
                           r"^\s*I(?:'m|\u2019m| am) (?:so |really |very )?(?:excited|happy|thrilled|glad|pleased|"
                           r"going to)\b|"
                           r"^\s*(?:begin|start|finish|end|conclude|close|provide|offer|give|describe|explain|"
                           r"summari[sz]e|mention|include|share|list|write)\b[^.!?\n]{0,40}\b(?:summary|description|"
                           r"overview|instructions|tips|examples?|details|information|advice|introduction|conclusion)\b",
                           re.I)
# A heading that names no section: "Part 2", "Step 3", a bare question word ("What?"), a connective ("In addition"),
# a number or time ("3:56pm").
_PLACEHOLDER = re.compile(r"^\s*(?:part|section|step|chapter|item|heading)\s*\d*\s*$|"
                          r"^\s*(?:what|where|why|how|when|who)\s*[?!.]*\s*$|"
                          r"^\s*(?:in addition|additionally|furthermore|moreover|however|also|finally|overall)\W*$|"
                          r"^\s*[\d:.,]+\s*(?:am|pm|minutes?|hours?|days?|weeks?|months?|years?|%)?\s*$", re.I)
_OTHER_ITEM = re.compile(r"[?!:.]\s*\d{1,2}[.)]?\s*$|\s[|/]\s|(?<=\S)\s+\d{1,2}[.)]\s+\S|^\s*\d{1,2}[.)]\s|"
                         rf"{NEXT_STEP}|"
                         r"\s[-\u2013\u2014]\s+(?i:this|it|these|that|here|you|we|they|I)\b")  # "... - This is..."


@dataclass(frozen=True)
class Defect:
    """One defect: its ``kind`` (see ``KINDS``), the ``part`` it is in, and ``where`` (a character offset)."""

    kind: str
    part: str
    where: int
    excerpt: str

    @property
    def blocking(self) -> bool:
        return self.kind in BLOCKING

    def __str__(self) -> str:
        return f"{self.part}: {self.kind} at {self.where}: {self.excerpt!r}"


def find_defects(text: str, kind: str = "prose", *, part: str = "", title: str = "", topic: str = "",
                 headings: tuple[str, ...] = (), target_words: int | None = None,
                 vocabulary: frozenset[str] = frozenset()) -> list[Defect]:
    """The defects of one part of a post.

    Args:
        text: the part's text.
        kind: what the part is: "title", "description", "tags", "heading" or "prose".
        part: its name in reports ("section 2"); defaults to ``kind``.
        title: the post's title, which a heading must not repeat.
        topic: what the post is about, whose key words a title keeps (at least ``TOPIC_SHARE`` of them).
        headings: the headings before this one, which it must not repeat.
        target_words: the words asked for (prose); far fewer is ``too-short``.
        vocabulary: whole words in lower case (a tokenizer's, ``whole_words``): a one-word tag that is none of
            them, nor a word of the title or topic, but splits into them, is words run together ("petcare").

    Example:
        >>> [d.kind for d in find_defects("Sure! Here is your rewritten version: cycling is fun and")]
        ['meta-talk', 'meta-talk', 'unfinished', 'too-short']
        >>> find_defects("The Unsustainable Choice by Chris Larkin", "title")[0].kind
        'invented-author'
    """
    if kind not in PART_KINDS:
        raise ValueError(f"kind={kind!r}: use one of {', '.join(PART_KINDS)}.")
    part = part or kind
    found = [Defect("meta-talk", part, m.start(), m.group(0).strip()) for m in _META_TALK.finditer(text)]
    found += [Defect("artifact", part, m.start(), m.group(0).strip()) for m in _ARTIFACT.finditer(text)]
    if kind != "tags":
        found += [Defect("artifact", part, m.start(), m.group(0)) for m in _HASHTAG.finditer(text)]
    words = len(re.findall(r"\w+", text))
    byline = _BYLINE.search(text.strip()) if kind == "title" else _BYLINE_IN_PROSE.search(text)
    if byline is not None:
        found.append(Defect("invented-author", part, byline.start(), byline.group(0).strip()))
    if kind == "heading":
        found += _heading_defects(text, part, title, headings)
    elif kind == "tags":
        found += _tag_defects(text, part, title, topic, vocabulary)
    elif kind == "title":
        found += [Defect("artifact", part, m.start(), m.group(0)) for m in _TITLE_ARTIFACT.finditer(text)]
        if (cut := _cut_off(text)):
            found.append(Defect("unfinished", part, len(text.rstrip()), cut))
        if words > TITLE_WORDS:
            found.append(Defect("too-long", part, 0, f"{words} words, at most {TITLE_WORDS} wanted"))
        if (m := _TITLE_META.search(text)) and not _TITLE_META.search(topic):
            found.append(Defect("meta-talk", part, m.start(), m.group(0)))
        wanted = keywords(topic) if text.strip() else set()
        if wanted and (share := topic_share(text, wanted)) < TOPIC_SHARE:
            found.append(Defect("off-topic", part, 0, f"keeps {share:.0%} of the key words of {topic!r}"))
    if kind in ("title", "heading") and (m := _DOUBLED.search(text)):
        found.append(Defect("repetition", part, m.start(), m.group(0)))
    if kind in ("prose", "description") and text.strip() and not ends_sentence(text):
        found.append(Defect("unfinished", part, len(text.rstrip()), text.rstrip()[-30:]))
    elif kind == "prose" and (m := _BROKEN_LINE.search(text)):  # a line within the part that stops mid-sentence
        found.append(Defect("unfinished", part, m.start(), m.group(0).strip()[-30:]))
    if kind == "prose" and (first := _LIST_ITEM.search(text)) and first.group(1) != "1":
        found.append(Defect("artifact", part, first.start(), f"a list starting at {first.group(1)}"))
    if kind == "prose" and (m := _too_short(words, target_words)):
        found.append(Defect("too-short", part, 0, m))
    elif kind == "description" and words < 5:
        found.append(Defect("too-short", part, 0, f"{words} words, at least 5 wanted"))
    elif kind in ("title", "heading", "tags") and words == 0:
        found.append(Defect("too-short", part, 0, "empty"))
    if kind == "description" and len(text.strip()) > DESCRIPTION_CHARS:
        found.append(Defect("too-long", part, DESCRIPTION_CHARS, f"{len(text.strip())} characters"))
    elif kind == "prose" and target_words and words > LONG_SHARE * target_words:
        found.append(Defect("too-long", part, 0, f"{words} words, {target_words} wanted"))
    if ngram_repeats(text, 4) > 3:
        found.append(Defect("repetition", part, 0, f"a run of 4 words {ngram_repeats(text, 4)} times"))
    return sorted(found, key=lambda d: (KINDS.index(d.kind), d.where))


def before_defects(text: str, defects: list[Defect]) -> str:
    """The whole sentences of ``text`` before its first blocking defect: "" when none come before it.

    ``write_post``'s fallback when no candidate of a prose step is clean: a model that wrote well for
    a while and then drifted ("... 5/8th Edition  23 pages", a chat reply) still wrote the part's start.

    Example:
        >>> text = "Paper is calm. It never pings. Here is your rewritten version: paper."
        >>> before_defects(text, find_defects(text))
        'Paper is calm. It never pings.'
    """
    where = min((d.where for d in defects if d.blocking), default=None)
    if where is None:
        return text
    start = trim_to_sentence(text[:where])
    return start if ends_sentence(start) else ""


def _too_short(words: int, target: int | None) -> str:
    least = max(MIN_WORDS, round(SHORT_SHARE * target)) if target else MIN_WORDS
    return f"{words} words, at least {least} wanted" if words < least else ""


def _heading_defects(text: str, part: str, title: str, headings: tuple[str, ...]) -> list[Defect]:
    found = [Defect("artifact", part, 0, text)] if _PLACEHOLDER.match(text) else []
    if text.count('"') % 2 or text.count("\u201c") != text.count("\u201d"):  # 'Preview: "Preheat your oven'
        found.append(Defect("artifact", part, text.find('"') if '"' in text else 0, "a quote never closed"))
    if (m := _HEADING_META.search(text)) and not _META_TALK.search(text):  # counted once
        found.append(Defect("meta-talk", part, m.start(), m.group(0)))
    mine = _words(text)
    titled = set(_stems(_words(title)))  # "An Awesome Reviews" under "Awesome Review - ..." too
    halves = [_stems(_words(p)) for p in title_phrases(title)] if title else []  # "Awesome Reviews" too
    if title and mine and (mine == _words(title) or (len(mine) >= 3 and set(_stems(mine)) <= titled)
                           or _stems(mine) in halves):
        found.append(Defect("title-repeated", part, 0, text))
    if mine and any(_stems(mine) == _stems(_words(h)) for h in headings):  # "Awesome Review(s)" too
        found.append(Defect("duplicate-heading", part, 0, text))
    if (m := _OTHER_ITEM.search(text)) is not None:
        found.append(Defect("heading-number", part, m.start(), m.group(0).strip()))
    if len(mine) > HEADING_WORDS or _cut_off(text):
        found.append(Defect("unfinished", part, len(text.rstrip()), text.rstrip()[-30:]))
    elif (m := _RUN_ON.search(text)) is not None:  # "What is your goal for this blog? How do you": two sentences
        found.append(Defect("unfinished", part, m.start(), text[m.start():].strip()[:30]))
    return found


def _tag_defects(text: str, part: str, title: str, topic: str, vocabulary: frozenset[str]) -> list[Defect]:
    """A tag list's fragments ("why", "als g"), glued words ("bicyclesettingtyres"), and tags about the writing
    instead of the topic ("grammar, editing" on a guitar review), unless the title or topic is about it."""
    context = set(_words(f"{title} {topic}"))
    known = context | vocabulary  # once per list, not per tag: a tokenizer's vocabulary has tens of thousands
    found = []
    for tag in (t.strip() for t in text.split(",")):
        words, where = _words(tag), max(text.find(tag), 0)
        if not words:
            continue
        if all(w in STOPWORDS or w in VAGUE for w in words) or \
                any(len(w) < 3 and w not in _SHORT_TAG_WORDS for w in words):
            found.append(Defect("artifact", part, where, f"a fragment: {tag!r}"))
        elif len(words) == 1 and words[0] not in known and (len(words[0]) > GLUED_LETTERS or _glued(words[0], known)):
            found.append(Defect("artifact", part, where, f"words glued together: {tag!r}"))
        elif (" ".join(words) in _WRITING_TAGS or set(words) & _WRITING_WORDS) and not shares_stem(words, context):
            found.append(Defect("off-topic", part, where, f"a tag about the writing: {tag!r}"))
    return found


def _glued(word: str, known: set[str]) -> bool:
    """Whether ``word`` is two or more ``known`` words run together ("homecooking" from "home" and "cooking"),
    short function words among them ("learningtobake")."""
    def is_word(piece: str) -> bool:
        return piece in STOPWORDS or (len(piece) >= 3 and piece in known)
    return any(is_word(word[:i]) and (is_word(word[i:]) or _glued(word[i:], known)) for i in range(2, len(word) - 1))


# A one-word tag longer than this, not a word of the title or topic, is words run together ("bicyclesettingtyres");
# English words this long are rare ("entrepreneurship" has 16 letters).
GLUED_LETTERS = 16
_SHORT_TAG_WORDS = {"ai", "ar", "vr", "tv", "pc", "uk", "us", "eu", "nyc", "3d", "5g", "io", "ux", "ui"}
# Tags about the post's writing, which a chat model adds from its editing chats.
# A tag with one of these words ("grammar correction", "constructive editing") is about the writing as well.
_WRITING_WORDS = set("""blog blogs blogging blogger article articles grammar editing proofreading copywriting
seo rewrite rewriting""".split())
_WRITING_TAGS = {"post", "posts", "blog post", "blog posts", "content writing", "writing style", "writing tips",
                 "writing", "style"}  # "music, writing, style" on a guitar review


def _cut_off(text: str) -> str:
    """The end of a title or heading that was cut off mid-phrase ("... The Perfect Way to"); "" if whole."""
    mine = _words(text)
    cut = text.rstrip().endswith((",", ";", "|", "/", "-", "\u2013", "\u2014", ":", "&", "+")) or \
        bool(_LAST_QUESTION.search(text))
    return text.rstrip()[-30:] if mine and (mine[-1] in _DANGLING or cut) else ""


# A title about the writing ("The Joy of Bike Riding: A Blogging Guide"), a meta-talk defect unless the topic is too.
_TITLE_META = re.compile(r"\bblog(?:s|ging|gers?)?\b|\b(?:article|listicle)s?\b", re.I)
# A line of prose, not a list's item, a heading or a line in emphasis, that ends on no sentence end, a colon or an
# emoji, with more lines after it: "5/8th Edition  23 pages", "... because they just do not care" then a new line.
_BROKEN_LINE = re.compile(r"^[ \t]*(?![-*+#>_|]|\d{1,2}[.)][ \t])[^\n]*[\w,;\-\u2013\u2014][ \t]*\n(?=[ \t]*\S)", re.M)
# A Markdown list's item; a part's first list starting past 1 was cut from a longer one ("2. **Choose High...**").
_LIST_ITEM = re.compile(r"^[ \t]*(\d{1,2})\.[ \t]+\S", re.M)
_LAST_QUESTION = re.compile(r"[-\u2013\u2014|:]\s*(?:how|what|why|when|where|who|which)\s*$", re.I)  # "... - How"
_RUN_ON = re.compile(HEADING_SENTENCE_END + r"[A-Za-z]")  # a heading that goes on past a sentence's end
_DOUBLED = re.compile(r"\b(\w{3,})\s+\1\b", re.I)  # a word twice in a row in a title: "Wedding Wedding"
# Words a heading does not end on: it was cut off mid-phrase.
_DANGLING = set("""a an and are as at be but by for from has have in into is its of on or our so than the their
to was were which while will with your you're we're they're it's i'm there's vs that because if when want worth
becoming toward towards onto should can could would must""".split())


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _stems(words: list[str]) -> list[str]:
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


@functools.lru_cache(maxsize=8)  # keyed by the tokenizer object itself, which the cache keeps alive
def whole_words(tokenizer) -> frozenset[str]:
    """The whole words a tokenizer knows as single tokens ("Ġkettle", "▁kettle"), in lower case: what
    ``find_defects`` splits a tag into to find words run together."""
    if tokenizer is None:
        return frozenset()
    return frozenset(t[1:].lower() for t in tokenizer.get_vocab() if t[:1] in ("\u0120", "\u2581") and t[1:].isalpha())


def check_post(post, target_words: int | None = None) -> list[Defect]:
    """Every defect of a written post (a ``blogneo.Post``), part by part, in reading order.

    ``target_words`` is the words asked for per prose part; None takes the post's own target. A post written by
    a model also has its tags checked against the model's whole words (``whole_words``).
    """
    target = target_words if target_words is not None else getattr(post, "words", None)
    title = post.title.text
    found = find_defects(title, "title", part="title", topic=getattr(post, "topic", ""))
    found += find_defects(post.description.text, "description", part="description")
    vocabulary = whole_words(getattr(getattr(post, "model", None), "tokenizer", None))
    found += find_defects(post.tags.text, "tags", part="tags", title=title, topic=getattr(post, "topic", ""),
                          vocabulary=vocabulary)
    for i, heading in enumerate(post.headings):
        found += find_defects(heading, "heading", part=f"heading {i + 1}", title=title,
                              headings=tuple(post.headings[:i]))
    found += find_defects(post.introduction.text, part="introduction", target_words=target)
    for i, section in enumerate(post.sections):
        found += find_defects(section.text, part=f"section {i + 1}", target_words=target)
    found += find_defects(post.conclusion.text, part="conclusion", target_words=target)
    return found
