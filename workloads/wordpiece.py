"""BERT WordPiece tokenizer read from a ``vocab.txt``, without ``tokenizers`` or ``transformers``.

It reproduces the fast (Rust) Hugging Face tokenizer a BERT ``tokenizer.json`` describes with
``BertNormalizer(clean_text, handle_chinese_chars, strip_accents=None, lowercase)``,
``BertPreTokenizer``, ``WordPiece(unk_token="[UNK]", continuing_subword_prefix="##",
max_input_chars_per_word=100)`` and the ``[CLS] A [SEP]`` template, in this order:

1. Special tokens (``[PAD]``, ``[UNK]``, ``[CLS]``, ``[SEP]``, ``[MASK]``) written literally in
   the text are matched first, before any normalization, and become their own ids.
2. Clean: drop NUL, U+FFFD and control characters (Unicode categories ``Cc``, ``Cf``,
   ``Co``, ``Cs`` except tab, line feed and carriage return; unassigned code points stay);
   map whitespace (tab, LF, CR, ``Zs``, ``Zl``, ``Zp``) to a space.
3. Put spaces around CJK ideographs, so each is a word of its own.
4. Strip accents (``lowercase`` implies it when ``strip_accents`` is unset): NFD, then drop
   non-spacing marks (``Mn``).
5. Lowercase, character by character (as the Rust normalizer does: no final-sigma rule).
6. Split on whitespace, then isolate every punctuation character (ASCII 33-47, 58-64, 91-96,
   123-126 and Unicode ``P*``) as a word of its own.
7. WordPiece: greedy longest match first, continuation pieces prefixed ``##``; a word longer
   than 100 characters, or with a part no piece matches, becomes one ``[UNK]``.

Unicode categories come from Python's :mod:`unicodedata`, while the Rust normalizer uses
tables from before Unicode 9.0 for controls, punctuation and non-spacing marks. Characters
assigned (or recategorized) since then can split differently: checked over every code point,
503 of the 1.1 million differ under Python 3.11 (Unicode 14), all in rare scripts and symbols
(for example U+061D, U+2E55..U+2E5D, U+1E000 combining Glagolitic). Every character older
than that, including all of Latin, Greek, Cyrillic, CJK and common punctuation, matches.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["WordPieceTokenizer", "SPECIAL_TOKENS"]

# The special tokens a BERT tokenizer.json lists as added tokens, in id order for BERT vocabs.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_REQUIRED = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
_CONTINUATION = "##"
_MAX_WORD_CHARS = 100
# CJK ideograph blocks, as tokenizers' BertNormalizer lists them.
_CJK = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# "Other" categories the Rust normalizer drops; unassigned code points (Cn) are kept.
_CONTROL = frozenset(("Cc", "Cf", "Co", "Cs"))
_ASCII_PUNCT = frozenset(
    chr(c) for r in ((33, 48), (58, 65), (91, 97), (123, 127)) for c in range(*r)
)
_ASCII_PUNCT_RE = re.compile("([" + re.escape("".join(sorted(_ASCII_PUNCT))) + "])")


@lru_cache(maxsize=4096)
def _clean_char(c: str) -> str:
    """The cleaned form of one character: ``""`` (dropped), ``" "`` or the character."""
    if c in "\t\n\r":
        return " "
    if c == "\x00" or c == "\ufffd":
        return ""
    cat = unicodedata.category(c)
    if cat in _CONTROL:
        return ""
    if cat in ("Zs", "Zl", "Zp"):
        return " "
    if any(lo <= ord(c) <= hi for lo, hi in _CJK):
        return f" {c} "
    return c


@lru_cache(maxsize=4096)
def _is_punct(c: str) -> bool:
    return c in _ASCII_PUNCT or unicodedata.category(c)[0] == "P"


def _normalize(text: str) -> str:
    """Steps 2-5 of the module docstring: clean, CJK spacing, strip accents, lowercase."""
    if text.isascii():
        # ASCII has no accents, CJK or non-ASCII whitespace: only controls to drop.
        if not text.isprintable():
            text = "".join(_clean_char(c) for c in text)
        return text.lower()
    text = "".join(_clean_char(c) for c in text)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    # Per character, like the Rust normalizer: str.lower() would apply the final-sigma rule.
    return "".join(c.lower() for c in text) if "\u03a3" in text else text.lower()


def _pre_tokenize(text: str) -> list[str]:
    """Step 6: whitespace split, then every punctuation character as its own word."""
    words: list[str] = []
    for chunk in text.split():
        if chunk.isascii():
            words.extend(p for p in _ASCII_PUNCT_RE.split(chunk) if p)
            continue
        start = 0
        for i, c in enumerate(chunk):
            if _is_punct(c):
                if i > start:
                    words.append(chunk[start:i])
                words.append(c)
                start = i + 1
        if start < len(chunk):
            words.append(chunk[start:])
    return words


class WordPieceTokenizer:
    """A BERT WordPiece tokenizer (uncased, accents stripped) over a fixed vocabulary.

    Parameters
    ----------
    vocab : sequence of str
        The tokens; a token's id is its index (a repeated token keeps its last index, as the
        Hugging Face reader does). Must hold ``[PAD]``, ``[UNK]``, ``[CLS]`` and ``[SEP]``.
    source : str, optional
        Where the vocabulary came from, for messages.

    Raises
    ------
    InputError
        A required special token is missing from the vocabulary.

    See Also
    --------
    WordPieceTokenizer.from_vocab : read the vocabulary from a ``vocab.txt``.
    """

    def __init__(self, vocab: Sequence[str], *, source: str | None = None):
        self.vocab: dict[str, int] = {tok: i for i, tok in enumerate(vocab)}
        self.source = source
        missing = [t for t in _REQUIRED if t not in self.vocab]
        if missing:
            raise InputError(
                f"vocabulary lacks the special token(s) {', '.join(missing)}",
                field="vocab",
                source=source,
            )
        self.pad_id = self.vocab["[PAD]"]
        self.unk_id = self.vocab["[UNK]"]
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self._inverse = {i: t for t, i in self.vocab.items()}
        # No piece is longer than the longest token: bounds the longest-match search.
        self._max_piece = max(len(t) for t in self.vocab)
        specials = [t for t in SPECIAL_TOKENS if t in self.vocab]
        self._special_re = re.compile("(" + "|".join(re.escape(t) for t in specials) + ")")
        self._cache: dict[str, tuple[int, ...]] = {}

    @classmethod
    def from_vocab(cls, path: str | os.PathLike) -> WordPieceTokenizer:
        """Read a ``vocab.txt``: one token per line, the id is the line number from 0.

        Parameters
        ----------
        path : str or path
            The vocabulary file (UTF-8).

        Returns
        -------
        WordPieceTokenizer
            The tokenizer over that vocabulary.

        Raises
        ------
        InputError
            The file is missing, unreadable, empty or lacks a required special token.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"cannot read vocabulary: {exc}", field="vocab", source=str(path)
            ) from None
        # Trailing whitespace is not part of a token (the Rust reader trims line ends).
        tokens = [line.rstrip() for line in text.splitlines()]
        if not any(tokens):
            raise InputError("vocabulary is empty", field="vocab", source=str(path))
        return cls(tokens, source=str(path))

    @property
    def vocab_size(self) -> int:
        """Number of ids, one more than the largest id."""
        return max(self.vocab.values()) + 1

    def _word_ids(self, word: str) -> tuple[int, ...]:
        if len(word) > _MAX_WORD_CHARS:
            return (self.unk_id,)
        ids = []
        start, n = 0, len(word)
        while start < n:
            end = min(n, start + self._max_piece)
            while end > start:
                piece = word[start:end] if start == 0 else _CONTINUATION + word[start:end]
                found = self.vocab.get(piece)
                if found is not None:
                    ids.append(found)
                    break
                end -= 1
            else:
                return (self.unk_id,)
            start = end
        return tuple(ids)

    def _ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without ``[CLS]``/``[SEP]`` and without truncation."""
        out: list[int] = []
        for i, part in enumerate(self._special_re.split(text)):
            if i % 2:  # a literal special token
                out.append(self.vocab[part])
                continue
            for word in _pre_tokenize(_normalize(part)):
                ids = self._cache.get(word)
                if ids is None:
                    ids = self._word_ids(word)
                    if len(self._cache) < 100_000:
                        self._cache[word] = ids
                out.extend(ids)
        return out

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of ``text``, without ``[CLS]``/``[SEP]`` and not truncated.

        Parameters
        ----------
        text : str
            Raw text.

        Returns
        -------
        list of str
            The tokens (continuations carry the ``##`` prefix).
        """
        return [self._inverse[i] for i in self._ids(text)]

    def encode(self, text: str, max_length: int = 256) -> np.ndarray:
        """Token ids ``[CLS] ... [SEP]`` of one text, truncated to ``max_length`` ids.

        Parameters
        ----------
        text : str
            Raw text.
        max_length : int
            Largest number of ids, ``[CLS]`` and ``[SEP]`` included (at least 2); the text's
            tokens past ``max_length - 2`` are dropped.

        Returns
        -------
        numpy.ndarray
            int64 ids, shape ``(length,)``, ``2 <= length <= max_length``.

        Raises
        ------
        InputError
            ``max_length`` below 2 or ``text`` not a string.
        """
        if not isinstance(text, str):
            raise InputError(f"expected a string, got {type(text).__name__}", field="text")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise InputError(
                f"max_length must hold [CLS] and [SEP], got {max_length!r}",
                field="max_length",
                allowed="an integer >= 2",
            )
        body = self._ids(text)[: max_length - 2]
        return np.array([self.cls_id, *body, self.sep_id], dtype=np.int64)

    def encode_batch(
        self, texts: Sequence[str], max_length: int = 256
    ) -> tuple[np.ndarray, np.ndarray]:
        """Encode several texts and pad them with ``[PAD]`` to the longest.

        Parameters
        ----------
        texts : sequence of str
            Raw texts.
        max_length : int
            Largest number of ids per text, see :meth:`encode`.

        Returns
        -------
        ids : numpy.ndarray
            int64, shape ``(len(texts), longest)``; padding positions hold the ``[PAD]`` id.
        mask : numpy.ndarray
            bool, same shape, True at real tokens (each row a prefix of True).

        Raises
        ------
        InputError
            See :meth:`encode`; also ``texts`` given as one string.
        """
        if isinstance(texts, str):
            raise InputError("expected a sequence of strings, got one string", field="texts")
        rows = [self.encode(t, max_length) for t in texts]
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        width = int(lengths.max(initial=0))
        mask = np.arange(width) < lengths[:, None]
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        if rows:
            ids[mask] = np.concatenate(rows)
        return ids, mask
