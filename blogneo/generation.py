"""Generate and stream: seeds, stop strings, cancel, whole sentences, several candidates.

All decoding is transformers' own ``generate``: the settings are a ``GenerationConfig``, stop
strings are its ``StopStringCriteria``, cancelling is a ``StoppingCriteria``, and streaming is a
``BaseStreamer``. blogneo adds what a writer needs around it.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Literal

import torch
from torch._dynamo.exc import TorchDynamoException
from transformers import (
    CompileConfig,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
    StopStringCriteria,
)
from transformers.generation.streamers import BaseStreamer

from .errors import NotEnoughMemoryError, ParameterError
from .examples import Examples, Excerpt, archive, example_budget, turns
from .loading import LoadedModel, loaded
from .memory import cache_bucket, check_run
from .precision import FiniteScores, HalfPrecisionOverflow
from .prompts import banned_ids, check_prompt, encode, heading_start_ids, text_ids, under_heading
from .sampling import SamplingParams, resolve_params
from .text import ends_sentence, sentence_ends, trim_to_sentence

FinishReason = Literal["length", "stop", "eos", "cancelled", "time"]


@dataclass(frozen=True)
class Candidate:
    """One generated continuation.

    ``text`` is the new text only, without the prompt. ``new_tokens`` counts the tokens the
    model generated for it, before trimming. ``finish_reason`` says why it ended: ``length``
    (max_new_tokens), ``stop`` (a stop string), ``eos`` (the model ended the text),
    ``cancelled`` or ``time`` (``max_time`` ran out). ``seed`` reproduces it with the same model and params.

    With ``trim_to_sentence`` (the default) a run that reaches ``max_new_tokens`` mid-sentence
    goes on for a few tokens to finish it (``finishing_room``), then is cut back to its last
    whole sentence. ``whole`` says whether the text ends on a whole sentence; after trimming it
    is False only when the text has no sentence end at all, so a fragment is never mistaken for a
    finished text (a stop string or Stop can also end a text mid-sentence).
    """

    text: str
    new_tokens: int
    finish_reason: FinishReason
    seed: int
    tokens_per_second: float
    prompt: str
    whole: bool = True

    def __str__(self) -> str:
        return self.text


class Chunk(str):
    """A piece of streamed text; ``candidate`` says which candidate it belongs to."""

    candidate: int

    def __new__(cls, text: str, candidate: int = 0):
        chunk = super().__new__(cls, text)
        chunk.candidate = candidate
        return chunk


def generate(prompt: str, params: SamplingParams | str | None = None,
             model: LoadedModel | str | None = None, *, reply: str = "", examples=None,
             progress: Callable[[str], None] | None = None, **overrides) -> list[Candidate]:
    """Continue ``prompt``; one Candidate per ``num_candidates``, generated as one batch.

    Args:
        prompt: the text to continue (a base model) or the request (a chat model).
        params: a SamplingParams, a preset name ("precise", "balanced", "creative") or None.
        model: a LoadedModel, a spec for ``blogneo.load``, or None for the default model.
        reply: text the answer starts with (after a chat model's assistant turn, or appended to
            a base model's prompt); the candidates' text is what follows it. When the reply (or a base
            model's prompt with it) ends with a Markdown heading line ("## Tips\n", "# My topic\n\n"),
            the text goes under it: it never opens with another heading or a blank line.
        examples: your own posts to write like, with no training: a folder of ``.md``/``.txt`` files or a
            list of texts. Excerpts (those sharing most words with the prompt first, about 900 tokens
            at most) go before a base model's prompt as earlier posts of the blog, or into a chat
            model's conversation as its earlier answers.
        progress: called with this run's notes, before it starts: on a GPU, "compiling for this GPU:
            ..." when the run needs a decoding step not compiled yet. None prints them.
        overrides: any SamplingParams field, plus the tutorial's ``do_sample``.

    Example:
        >>> [c] = blogneo.generate("The best thing about autumn is", seed=7, max_new_tokens=40)
        >>> c.finish_reason in ("length", "eos")
        True
    """
    model, params, excerpts = _prepare(prompt, params, model, examples, overrides)
    return _run(model, prompt, params, reply=reply, excerpts=excerpts, progress=progress)


def stream(prompt: str, params: SamplingParams | str | None = None,
           model: LoadedModel | str | None = None, *, reply: str = "", examples=None,
           progress: Callable[[str], None] | None = None, **overrides) -> Stream:
    """Like ``generate``, but yields text as it is produced, on a worker thread.

    Iterate to get ``Chunk`` strings (``chunk.candidate`` says which candidate). ``cancel()``
    stops within one decoding step. ``result()`` waits and returns the Candidates; their text
    is final (trimmed to a whole sentence), so it can be shorter than what was streamed.

    Example:
        >>> s = blogneo.stream("Dear diary,", seed=1, max_new_tokens=30)
        >>> text = "".join(s)
        >>> s.result()[0].finish_reason in ("length", "eos")
        True
    """
    model, params, excerpts = _prepare(prompt, params, model, examples, overrides)
    return Stream(model, prompt, params, reply=reply, excerpts=excerpts, progress=progress)


def _prepare(prompt: str, params, model, examples, overrides: dict) -> tuple[LoadedModel, SamplingParams, list]:
    """A call's model, params and the excerpts of its examples; bad input fails before any model loads."""
    check_prompt(prompt)
    params = resolve_params(params, **overrides)
    examples = Examples.of(examples)
    model = loaded(model)
    excerpts = examples.choose(model.tokenizer, prompt, example_budget(model.context_length)) if examples else []
    return model, params, excerpts


class Stream:
    """A generation running on a worker thread. Iterate it for Chunks; ``cancel()`` to stop."""

    _END = object()

    def __init__(self, model: LoadedModel, prompt: str, params: SamplingParams, reply: str = "",
                 excerpts: list[Excerpt] = (), progress: Callable[[str], None] | None = None):
        self._queue: queue.Queue = queue.Queue()
        self._cancel = threading.Event()
        self._result: list[Candidate] | None = None
        self._error: BaseException | None = None
        streamer = _ChunkStreamer(model.tokenizer, params.stop, self._queue, shown=params.num_candidates)
        self._thread = threading.Thread(target=self._work, args=(model, prompt, params, streamer, reply, excerpts,
                                                                 progress),
                                        name="blogneo-stream", daemon=True)
        self._thread.start()

    def _work(self, model, prompt, params, streamer, reply, excerpts, progress) -> None:
        try:
            self._result = _run(model, prompt, params, streamer=streamer, cancel=self._cancel, reply=reply,
                                excerpts=excerpts, progress=progress)
        except BaseException as error:  # handed to the reader's thread, raised there
            self._error = error
        finally:
            self._queue.put(self._END)

    def __iter__(self) -> Iterator[Chunk]:
        try:
            while (item := self._queue.get()) is not self._END:
                yield item
        except BaseException:  # a kernel interrupt (KeyboardInterrupt) or a reader that gave up
            self.cancel()  # the worker stops within one step instead of running on unseen
            raise
        self._queue.put(self._END)  # a second iteration ends at once
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        """Stop generating within one decoding step. The partial text is kept."""
        self._cancel.set()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self, timeout: float | None = None) -> list[Candidate]:
        """Wait for the run to end and return its Candidates (raising its error, if it failed)."""
        try:
            self._thread.join(timeout)
        except BaseException:  # interrupted while waiting: stop the run too
            self.cancel()
            raise
        if self._thread.is_alive():
            raise TimeoutError(f"The generation is still running after {timeout} s.")
        if self._error is not None:
            raise self._error
        return self._result


class _Cancelled(StoppingCriteria):
    """Ends every sequence once ``event`` is set; transformers checks it after each step."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def finishing_room(budget: int) -> int:
    """Tokens a run may add past its budget to finish its last sentence: a quarter, from 16 to 40.

    Example:
        >>> finishing_room(20), finishing_room(120), finishing_room(1000)
        (16, 30, 40)
    """
    return max(FINISH_MIN, min(FINISH_MAX, budget // 4))


FINISH_MIN, FINISH_MAX = 16, 40  # a sentence is often 15 to 25 tokens


def generation_config(model: LoadedModel, params: SamplingParams, prompt_tokens: int, under_heading: bool = False):
    """``params`` as the GenerationConfig ``generate`` runs with on ``model``: its special tokens included.

    ``under_heading``: the prompt ends with a Markdown heading line (``prompts.under_heading``), so the text goes
    under it and may not open with another heading or a blank line (``prompts.heading_start_ids``).

    With ``trim_to_sentence`` the run may go on past its budget (``finishing_room``, within the
    context) to finish a sentence; a stopping criterion ends it at the first sentence end there.

    A model that compiles (``model.compile``, the default on CUDA) gets transformers' static KV
    cache, sized to the run's bucket (``blogneo.memory.cache_bucket``) or to the largest cache this
    model has used, whichever is longer, so that the compiled step is reused instead of rebuilt.
    """
    config = params.to_generation_config(prompt_tokens=prompt_tokens)
    config.stop_strings = None  # matched in the new text only, by _NewTextStops
    own = model.model.generation_config
    config.pad_token_id, config.eos_token_id, config.bos_token_id = own.pad_token_id, own.eos_token_id, own.bos_token_id
    if params.banned:
        config.bad_words_ids = banned_ids(model.tokenizer, params.banned)
    if under_heading:
        config.begin_suppress_tokens = list(heading_start_ids(model.tokenizer))
    if params.trim_to_sentence:
        room = model.context_length - prompt_tokens - config.max_new_tokens
        config.max_new_tokens += max(0, min(room, finishing_room(config.max_new_tokens)))
    if model.compile:
        config.cache_implementation = "static"
        config.max_cache_len = max(cache_bucket(prompt_tokens + config.max_new_tokens, model.context_length),
                                   getattr(model.model, "_previous_max_cache_length", 0))
        if model.device.type != "cuda":  # transformers compiles by itself on CUDA only
            config.compile_config = CompileConfig()
            config.compile_config._compile_all_devices = True  # its documented switch for other devices
    return config


@dataclass
class _Plan:
    """What a run will decode: its ids, its params and config (the batch rounded on the compiled path), the
    candidates shown, and the compile it needs first (None: its step is compiled, or it runs eagerly)."""

    input_ids: torch.Tensor
    params: SamplingParams
    config: object
    shown: int
    compile: str | None


def _plan(model: LoadedModel, prompt: str, params: SamplingParams, reply: str = "",
          excerpts: list[Excerpt] = ()) -> _Plan:
    limit = model.context_length
    if params.max_length is not None and params.max_length > limit:
        raise ParameterError("max_length", f"max_length={params.max_length} is beyond this model's "
                                           f"{limit}-token context. Use at most {limit}.")
    if params.max_length is None and params.max_new_tokens >= limit:
        raise ParameterError("max_new_tokens", f"max_new_tokens={params.max_new_tokens} does not fit in this "
                                               f"model's {limit}-token context. Use at most {limit - 1}.")
    reserve = params.max_new_tokens if params.max_length is None else 1
    # the writer's examples: a base model reads them as earlier posts on its page, a chat model as earlier answers
    excerpts = _fitting(model, list(excerpts), prompt, reply, reserve)
    page = archive(excerpts) + prompt if excerpts and not model.chat else prompt
    chat_turns = turns(excerpts) if excerpts and model.chat else []
    if excerpts and not model.chat and "\n---" not in params.stop:  # the archive's rule between posts: the end
        params = params.replace(stop=(*params.stop, "\n---"))
    input_ids = encode(model, page, reserve, reply=reply, turns=chat_turns).to(model.device)
    prompt_len = input_ids.shape[1]
    config = generation_config(model, params, prompt_len, under_heading(model, page, reply))
    shown = params.num_candidates
    if model.compile:  # a batch size compiled once serves every count up to it (candidate_batch says why)
        params, config = _batched(model, params, config)
    # Refused before anything is allocated: the KV cache and logits for every candidate's whole length.
    tokens = config.max_cache_len if model.compile else prompt_len + config.max_new_tokens
    check_run(model.shape, model.precision, model.device, params.num_candidates, tokens, static=model.compile)
    pending = model.compile and (params.num_candidates, config.max_cache_len) not in model.compiled
    note = compile_note(model, params.num_candidates, config.max_cache_len, shown) if pending else None
    return _Plan(input_ids, params, config, shown, note)


def compile_ahead(prompt: str, params: SamplingParams | str | None = None, model: LoadedModel | str | None = None,
                  *, reply: str = "", **overrides) -> str | None:
    """The note a run of ``prompt`` would say before it starts, because it must compile first (the batch and
    cache it compiles for, and how long that takes), or None when its step is compiled already or the model
    decodes eagerly (the CPU's default). Nothing runs. The studio asks this when the Candidates box or the
    length changes, so a pause is said before Generate is pressed.

    On a GPU, before the first run of 3 candidates: "compiling for this GPU: a batch of 4 (3 shown; it serves 3
    to 4 candidates), a 256-token cache (about 20 s on an H100, ...)".

    Example:
        >>> blogneo.compile_ahead("Dear diary,", "balanced", model, num_candidates=3) is None  # eager on a CPU
        True
    """
    model, params, _ = _prepare(prompt, params, model, None, overrides)
    return _plan(model, prompt, params, reply).compile


def _run(model: LoadedModel, prompt: str, params: SamplingParams, streamer=None,
         cancel: threading.Event | None = None, reply: str = "", excerpts: list[Excerpt] = (),
         progress: Callable[[str], None] | None = None) -> list[Candidate]:
    plan = _plan(model, prompt, params, reply, excerpts)
    if plan.compile:
        model.note(plan.compile, progress)  # said before it
    params, config, prompt_len = plan.params, plan.config, plan.input_ids.shape[1]
    seed = params.seed if params.seed is not None else secrets.randbelow(2**32)
    cancel = cancel or threading.Event()
    budget = params.budget(prompt_len)
    finish = _SentenceEnd(model.tokenizer, prompt_len, budget) if params.trim_to_sentence else None
    output, elapsed, config = _on_decoding_thread(model, cancel, _decode, model, plan.input_ids, params, config,
                                                  seed, cancel, streamer, finish, progress, plan.shown)
    ends = {config.pad_token_id, *_as_list(config.eos_token_id)} - {None}
    # MaxTimeCriteria ended the run before its token budget ran out.
    timed_out = params.max_time is not None and output.shape[1] - prompt_len < config.max_new_tokens \
        and elapsed >= params.max_time
    finished = finish.ended if finish else {}
    return [_candidate(model, row.tolist(), ends, params, seed, elapsed, cancel.is_set(), prompt, timed_out,
                       finished.get(i)) for i, row in enumerate(output[:plan.shown, prompt_len:])]


#: A compile of the decoding step, as measured on an H100 (docs/measurements.md#speed-on-a-gpu); never on a T4 yet.
COMPILE_SECONDS = 20


def compile_note(model: LoadedModel, candidates: int, cache: int, shown: int | None = None) -> str:
    """What a run says before it compiles: for what, how long, and that the next run like it will not."""
    where = "GPU" if model.device.type == "cuda" else model.device.type.upper()
    if shown in (None, candidates):
        batch = f"{candidates} candidate(s)"
    else:  # the counts candidate_batch rounds up to this batch
        served = min(n for n in range(1, candidates + 1) if candidate_batch(n) == candidates)
        batch = f"a batch of {candidates} ({shown} shown; it serves {served} to {candidates} candidates)"
    return (f"compiling for this {where}: {batch}, a {cache}-token cache (about {COMPILE_SECONDS} s "
            "on an H100, longer on a CPU; once per model for each such pair)")


def passing_note(text: str) -> bool:
    """Whether a run's note is a compile's (``compile_note``), which the run's end makes old news; the others (a
    compile that failed, a fall-back to fp32) say why the model now runs otherwise, and stay worth reading."""
    return text.startswith("compiling for this ")


def candidate_batch(candidates: int) -> int:
    """The batch a compiled run samples ``candidates`` in: the next of 1, 2, 4, 8 and 16.

    A compiled decoding step is specialised to its batch size, and a compile takes about 20 s, so moving the
    studio's Candidates box from 3 to 4, or from 5 to 7, reuses the step compiled for 4 or 8: five batch sizes
    at most, instead of sixteen. The rows past those asked for end at their first token, and decoding a batch
    on a GPU is bound by reading the weights, not by its rows, so they cost little next to a compile. The
    rounding depends on the count alone, never on what compiled earlier, so a seed gives the same candidates
    in every session: on a GPU, 3 candidates are the first 3 of the batch of 4. Eager runs (the CPU's default,
    and a model whose compile failed) sample exactly the count asked for, as does a compiled run whose
    rounded batch would not fit in free memory while the count asked for would.

    Example:
        >>> [candidate_batch(n) for n in (1, 2, 3, 4, 5, 8, 9, 16)]
        [1, 2, 4, 4, 8, 8, 16, 16]
    """
    return 1 << max(candidates - 1, 0).bit_length()


def _batched(model: LoadedModel, params: SamplingParams, config):
    """``params`` and ``config`` with the candidates rounded up to ``candidate_batch``; as asked, when the rounded
    batch would not fit in memory and the asked one would."""
    batch = candidate_batch(params.num_candidates)
    if batch == params.num_candidates:
        return params, config
    try:
        check_run(model.shape, model.precision, model.device, batch, config.max_cache_len, static=True)
    except NotEnoughMemoryError:
        return params, config
    params = params.replace(num_candidates=batch)
    config.num_return_sequences = batch
    return params, config


def _fitting(model: LoadedModel, excerpts: list[Excerpt], prompt: str, reply: str, reserve: int) -> list[Excerpt]:
    """The excerpts that fit beside the prompt, the reply and the new tokens in the context: the least relevant
    dropped first, the last one cut to the room left, none when under 16 tokens would be left of it (never the
    prompt: ``encode`` would keep the newest tokens and cut it instead)."""
    while excerpts:
        if model.chat:
            used = len(encode(model, prompt, 1, reply=reply, turns=turns(excerpts))[0])
        else:
            used = len(text_ids(model.tokenizer, archive(excerpts) + prompt + reply))
        over = used + reserve - model.context_length
        if over <= 0:
            break
        if len(excerpts) > 1:
            excerpts = excerpts[:-1]
        elif excerpts[0].tokens - over - 2 >= 16:  # 2: a cut word may take a token more than it did
            excerpts = [excerpts[0].cut(model.tokenizer, excerpts[0].tokens - over - 2)]
        else:
            excerpts = []
    return excerpts


_decoder: futures.ThreadPoolExecutor | None = None
_decoder_lock = threading.Lock()


def _decoding_thread() -> futures.ThreadPoolExecutor:
    """The process's one thread for compiled runs, started with the first of them."""
    global _decoder
    with _decoder_lock:
        if _decoder is None:
            _decoder = futures.ThreadPoolExecutor(1, "blogneo-decode", initializer=_own_cuda_graph_trees)
        return _decoder


def _own_cuda_graph_trees() -> None:
    """Give this thread the per-thread state PyTorch's CUDA graph trees keep, as that module does
    for the thread that imports it. Before torch 2.12 (Colab's, for one) any other thread failed an
    ``assert torch._C._is_key_in_tls`` at its first compiled step (seen on an H100 with torch 2.11:
    a second model's thread, or the notebook's thread after blogneo's); later versions do this
    themselves, and then this finds the state there and leaves it."""
    try:
        from torch._inductor import cudagraph_trees as trees
    except ImportError:  # a build of torch without inductor: nothing compiles, nothing to set up
        return
    if not hasattr(trees.local, "tree_manager_containers") and not torch._C._is_key_in_tls("tree_manager_containers"):
        trees.local.tree_manager_containers = {}
        trees.local.tree_manager_locks = defaultdict(threading.Lock)


def _on_decoding_thread(model: LoadedModel, cancel: threading.Event, work, *args):
    """``work(*args)`` on the process's one decoding thread when the model decodes compiled; an
    interrupt while waiting cancels it first.

    Every compiled run decodes on the same thread, whichever thread asked (a notebook cell, a
    Stream, the studio's workers) and whichever model it is: PyTorch keeps compiled CUDA graphs
    per thread, so a new thread would record them, and hold their memory, anew each time. An eager
    run decodes where it was asked: a long-lived second thread keeps OpenMP workers of its own,
    which halved every eager run on the 2-core machine, in any thread, for as long as it lived
    (measured: the embedded model's 28 tokens/s became 13).
    """
    if not model.compile:
        return work(*args)
    running = _decoding_thread().submit(work, *args)
    try:
        futures.wait([running])
    except BaseException:  # a kernel interrupt (KeyboardInterrupt) lands here, in the caller's thread
        cancel.set()  # the run stops within one step
        futures.wait([running])
        raise
    return running.result()


def _decode(model: LoadedModel, input_ids: torch.Tensor, params: SamplingParams, config, seed: int,
            cancel: threading.Event, streamer, finish, progress=None,
            shown: int | None = None) -> tuple[torch.Tensor, float, object]:
    """(output ids, seconds, the config it ran with): fp32 once if half precision overflowed. Rows from ``shown``
    on (the batch's rounding, ``candidate_batch``) end at their first token: nobody reads them."""
    criteria = [_Cancelled(cancel), *([_NewTextStops(model.tokenizer, params.stop, input_ids.shape[1])]
                                      if params.stop else []), *([finish] if finish else []),
                *([_Unshown(shown)] if shown is not None and shown < params.num_candidates else [])]
    with model.lock, torch.inference_mode():
        try:
            output, elapsed = _generate_compiled(model, input_ids, config, seed, criteria, streamer, params, progress)
        except HalfPrecisionOverflow:
            model.fall_back_to_fp32("overflowed while writing", progress)
            if streamer is not None:
                streamer.restart()  # the reader keeps what it was sent; the fp32 run goes on from there
            if finish is not None:
                finish.ended.clear()
            config = generation_config(model, params, input_ids.shape[1], config.begin_suppress_tokens is not None)
            output, elapsed = _generate_compiled(model, input_ids, config, seed, criteria, streamer, params, progress)
    return output, elapsed, config


def _generate_compiled(model: LoadedModel, input_ids: torch.Tensor, config, seed: int, criteria: list,
                       streamer, params: SamplingParams, progress=None) -> tuple[torch.Tensor, float]:
    """``_generate_once``, recording each (candidates, cache size) compiled (``_run`` announces a compile before
    it); a compile that fails here (no compiler, an unsupported GPU) is said in one line and the run goes on
    eagerly."""
    if not model.compile:
        return _generate_once(model, input_ids, config, seed, criteria, streamer)
    key = (params.num_candidates, config.max_cache_len)
    try:
        output = _generate_once(model, input_ids, config, seed, criteria, streamer)
    except TorchDynamoException as error:  # what torch.compile raises, a failing backend compiler included
        model.stop_compiling(error, progress)
        if streamer is not None:
            streamer.restart()
        return _generate_once(model, input_ids, generation_config(
            model, params, input_ids.shape[1], config.begin_suppress_tokens is not None), seed,
                              criteria, streamer)
    model.compiled.add(key)
    return output


def _generate_once(model: LoadedModel, input_ids: torch.Tensor, config, seed: int, criteria: list,
                   streamer) -> tuple[torch.Tensor, float]:
    """One call of transformers' generate: (output ids, seconds). A model that really computes in fp16
    gets the overflow guard; if its scores overflowed, this raises HalfPrecisionOverflow after the call."""
    guard = FiniteScores(_as_list(config.eos_token_id)[0]) if model.dtype == torch.float16 else None
    torch.manual_seed(seed)  # the only source of randomness in sampling
    started = time.perf_counter()
    output = model.model.generate(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        generation_config=config,
        logits_processor=LogitsProcessorList([guard] if guard else []),
        stopping_criteria=StoppingCriteriaList(criteria),
        tokenizer=model.tokenizer,  # StopStringCriteria needs it
        streamer=streamer,
    )
    if guard is not None and guard.overflowed:
        raise HalfPrecisionOverflow
    return output, max(time.perf_counter() - started, 1e-9)


def _candidate(model, tokens: list[int], ends: set[int], params: SamplingParams, seed: int, elapsed: float,
               cancelled: bool, prompt: str, timed_out: bool, finished_at: int | None) -> Candidate:
    if finished_at is not None:  # ended by _SentenceEnd, past its budget: what follows is padding
        tokens = tokens[:finished_at]
    hit_eos = finished_at is None and any(t in ends for t in tokens)
    if hit_eos:
        tokens = tokens[: next(i for i, t in enumerate(tokens) if t in ends)]
    text = model.tokenizer.decode(tokens, skip_special_tokens=True)
    cut = _first_stop(text, params.stop)
    if cut is not None:
        text, reason = text[:cut], "stop"
    elif hit_eos:
        reason = "eos"
    elif cancelled:
        reason = "cancelled"
    else:
        reason = "time" if timed_out else "length"  # both cut the text short, so both are trimmed
        if params.trim_to_sentence:
            text = trim_to_sentence(text)
    text = text.rstrip()
    return Candidate(text=text, new_tokens=len(tokens), finish_reason=reason, seed=seed,
                     tokens_per_second=len(tokens) / elapsed, prompt=prompt,
                     whole=ends_sentence(text))


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


class _Unshown(StoppingCriteria):
    """Ends the rows from ``shown`` on at once: the batch's rounding (``candidate_batch``), which nobody reads."""

    def __init__(self, shown: int):
        self.shown = shown

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        done[self.shown:] = True
        return done


class _NewTextStops(StoppingCriteria):
    """transformers' ``StopStringCriteria``, shown only the new tokens: a stop string ends the run when
    the model writes it, never when its start is the prompt's end. Given the whole sequence (as
    ``GenerationConfig.stop_strings`` does), a prompt ending in a line break stopped a run whose
    first token was "#" or a line break at once (stop "\n#" or "\n\n\n"), with empty text."""

    def __init__(self, tokenizer, stops: tuple[str, ...], start: int):
        self.criteria, self.start = StopStringCriteria(tokenizer, list(stops)), start

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        return self.criteria(input_ids[:, self.start:], scores)


class _SentenceEnd(StoppingCriteria):
    """Past ``budget`` new tokens, ends each row at its first sentence end followed by a space.

    The run's limit is its budget plus ``finishing_room``, so this only finishes a sentence that
    the budget cut; ``ended`` records, per row, how many new tokens it kept. Only the last few
    tokens are decoded, and only during those extra steps.
    """

    WINDOW = 6  # tokens decoded at the end of a row: enough for ". " and the word after

    def __init__(self, tokenizer, start: int, budget: int):
        self.tokenizer, self.start, self.budget = tokenizer, start, budget
        self.ended: dict[int, int] = {}

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        new = input_ids.shape[1] - self.start
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if new <= self.budget:
            return done
        for row, ids in enumerate(input_ids[:, -self.WINDOW:].tolist()):
            if row in self.ended:
                done[row] = True
                continue
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            if any(m.end() < len(text) for m in sentence_ends(text, text_start=False)):  # a space follows the end
                self.ended[row] = new
                done[row] = True
        return done


class _ChunkStreamer(BaseStreamer):
    """Turns each decoding step's tokens into text Chunks per candidate.

    Text that could be the start of a stop string is held back until it is clear, so a stop
    string never shows in the stream; so is a partial UTF-8 character (decoded as U+FFFD). Each
    step decodes only a few tokens (``_Row.decode_new``), so streaming costs the same per token
    at the 1,000th token as at the 10th.
    """

    def __init__(self, tokenizer, stops: tuple[str, ...], out: queue.Queue, shown: int | None = None):
        self.tokenizer, self.stops, self.out = tokenizer, stops, out
        self.shown = shown  # rows from here on are the batch's rounding (candidate_batch): never sent
        self.rows: list[_Row] | None = None
        self._sent_before: list[int] = []  # what a run that had to restart had sent already
        self.ends = {tokenizer.pad_token_id, tokenizer.eos_token_id} - {None}
        self.longest_stop = max(map(len, stops), default=0)

    def put(self, value: torch.Tensor) -> None:
        if self.rows is None:  # the first call carries the prompt, one row per candidate
            self.rows = [_Row() for _ in range(value.shape[0])]
            for row in self.rows[self.shown:] if self.shown is not None else ():
                row.done = True
            for row, sent in zip(self.rows, self._sent_before, strict=False):
                row.sent = sent
            return
        for index, (row, token) in enumerate(zip(self.rows, value.reshape(-1).tolist(), strict=True)):
            if row.done:
                continue
            if token in self.ends:
                row.done = True
                self._emit(index, final=True)
            else:
                row.tokens.append(token)
                self._emit(index, final=False)

    def restart(self) -> None:
        """A new run of the same candidates starts: read its tokens afresh, send only what goes past what was sent."""
        if self.rows is not None:
            sent = [row.sent for row in self.rows]
            self.rows = None  # the next put() carries the prompt again
            self._sent_before = sent

    def end(self) -> None:
        for index, row in enumerate(self.rows or []):
            if not row.done:
                self._emit(index, final=True)

    def _emit(self, index: int, final: bool) -> None:
        row = self.rows[index]
        searched = max(len(row.text) - self.longest_stop, 0)  # a stop string ending in the new text starts here
        row.text += row.decode_new(self.tokenizer, final)
        cut = _first_stop(row.text[searched:], self.stops)
        text = row.text
        if cut is not None:
            text, row.done, final = text[:searched + cut], True, True
        if not final:
            text = text[: len(text) - _held_back(text, self.stops)]
        if len(text) > row.sent:
            self.out.put(Chunk(text[row.sent:], index))
            row.sent = len(text)


class _Row:
    """One candidate's tokens, its text decoded so far, and how much of it was sent."""

    def __init__(self):
        self.tokens: list[int] = []
        self.text = ""
        self.sent = 0
        self.done = False
        self.prefix = self.read = 0  # tokens[prefix:read] decode to the text's last few characters

    def decode_new(self, tokenizer, final: bool) -> str:
        """The text the tokens since the last call add, decoding only a window of a few tokens.

        Decoding ``tokens[prefix:]`` against ``tokens[prefix:read]`` gives exactly the new
        characters, whatever the tokenizer does at a window's start (the same start both times).
        An unfinished UTF-8 character (U+FFFD at the end) waits for its next token, unless final.
        """
        before = tokenizer.decode(self.tokens[self.prefix:self.read], skip_special_tokens=True)
        after = tokenizer.decode(self.tokens[self.prefix:], skip_special_tokens=True)
        if not final and (len(after) <= len(before) or after.endswith("\ufffd")):
            return ""
        self.prefix, self.read = self.read, len(self.tokens)
        return after[len(before):]


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest end of ``text`` that could still grow into a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if stop.startswith(text[-n:]):
                longest = n
                break
    return longest
