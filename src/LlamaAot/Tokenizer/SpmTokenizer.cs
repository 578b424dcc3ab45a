// SentencePiece tokenizer exactly as llama.cpp runs it for "llama" vocabularies (llm_tokenizer_spm_session and the SPM
// branch of llama_vocab::impl::tokenize, parse_special = false), plus token_to_piece and llama_detokenize.
//
// Text is handled as UTF-16 code points rather than UTF-8 bytes: for valid Unicode the symbols (one code point each),
// their merges and every vocabulary match are the same, and lookups can then use the string dictionary directly.
using System.Buffers;
using System.Text;

namespace LlamaAot.Tokenizer;

public sealed class SpmTokenizer
{
    private const char SpaceMarker = '\u2581'; // ▁, SentencePiece's escaped space

    private readonly LlamaVocab _vocab;
    private readonly int[] _byteToToken;     // byte fallback id per byte value (UNK, or -1 when that is absent too)
    private readonly byte[][] _pieces;       // token_to_piece(id, special: false)
    private readonly byte[][] _specialPieces; // token_to_piece(id, special: true)
    private readonly int[] _userDefined;     // ids split out of the text before SPM, longest text first

    public SpmTokenizer(LlamaVocab vocab)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        _vocab = vocab;
        int n = vocab.Count;
        string[] tokens = vocab.TokenArray;
        LlamaTokenType[] types = vocab.TypeArray;

        _byteToToken = new int[256];
        for (int b = 0; b < 256; b++)
        {
            // llama.cpp's byte_to_token: "<0xNN>" with upper-case hex, else the byte itself as a one-character token.
            // Where it would throw we fall back to UNK, which is what SentencePiece emits for an unknown piece.
            int id = vocab.TextToToken($"<0x{b:X2}>");
            if (id < 0 && b < 0x80) id = vocab.TextToToken(((char)b).ToString());
            _byteToToken[b] = id >= 0 ? id : vocab.UnkId;
        }

        _pieces = new byte[n][];
        _specialPieces = new byte[n][];
        for (int id = 0; id < n; id++)
        {
            string text = tokens[id];
            switch (types[id])
            {
                case LlamaTokenType.Normal:
                    _pieces[id] = _specialPieces[id] = Encoding.UTF8.GetBytes(text.Replace(SpaceMarker, ' '));
                    break;
                case LlamaTokenType.Byte:
                    _pieces[id] = _specialPieces[id] = [ParseByteToken(text, id)];
                    break;
                case LlamaTokenType.UserDefined:
                    // Printed verbatim, ▁ included: llama.cpp only unescapes normal tokens.
                    _pieces[id] = _specialPieces[id] = Encoding.UTF8.GetBytes(text);
                    break;
                case LlamaTokenType.Control:
                case LlamaTokenType.Unknown:
                    _pieces[id] = [];
                    _specialPieces[id] = Encoding.UTF8.GetBytes(text);
                    break;
                default:
                    // Unused and undefined tokens print nothing, like control tokens.
                    _pieces[id] = _specialPieces[id] = [];
                    break;
            }
        }

        // tokenizer_st_partition with parse_special = false still cuts user-defined tokens out of the text first,
        // longest first (llama.cpp sorts by byte length; ties here go to the lower id).
        var user = new List<int>();
        for (int id = 0; id < n; id++)
        {
            if (types[id] == LlamaTokenType.UserDefined) user.Add(id);
        }
        _userDefined = user
            .OrderByDescending(id => Encoding.UTF8.GetByteCount(tokens[id]))
            .ThenBy(id => id)
            .ToArray();
    }

    public LlamaVocab Vocab => _vocab;

    /// <summary>Tokenizes plain text (special tokens are not parsed). <paramref name="addBos"/> is llama.cpp's
    /// add_special: BOS is prepended if the vocab's add_bos is set, EOS appended if its add_eos is set.</summary>
    public int[] Encode(string text, bool addBos)
    {
        var output = new List<int>(text.Length / 3 + 4);
        Encode(text, addBos, output);
        return output.ToArray();
    }

    /// <summary>Appends the tokens of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public void Encode(string text, bool addBos, List<int> output)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        text = ReplaceLoneSurrogates(text);

        if (addBos && _vocab.AddBos) output.Add(_vocab.BosId);

        // Every text fragment after a token (or at the start) gets the space prefix; an empty text has no fragment
        // at all, so it encodes to nothing.
        bool prevWasToken = true;
        char[]? buffer = null;
        try
        {
            foreach (var fragment in Partition(text))
            {
                if (fragment.TokenId >= 0)
                {
                    output.Add(fragment.TokenId);
                    prevWasToken = true;
                    continue;
                }

                bool prefix = _vocab.AddSpacePrefix && prevWasToken;
                int length = fragment.Length + (prefix ? 1 : 0);
                if (buffer is null || buffer.Length < length)
                {
                    if (buffer is not null) ArrayPool<char>.Shared.Return(buffer);
                    buffer = ArrayPool<char>.Shared.Rent(length);
                }
                int w = 0;
                if (prefix) buffer[w++] = SpaceMarker;
                foreach (char c in text.AsSpan(fragment.Start, fragment.Length)) buffer[w++] = c == ' ' ? SpaceMarker : c;

                TokenizeEscaped(buffer.AsSpan(0, length), output);
                prevWasToken = false;
            }
        }
        finally
        {
            if (buffer is not null) ArrayPool<char>.Shared.Return(buffer);
        }

        if (addBos && _vocab.AddEos) output.Add(_vocab.EosId);
    }

    private readonly record struct Fragment(int Start, int Length, int TokenId);

    private List<Fragment> Partition(string text)
    {
        var fragments = new List<Fragment>();
        if (text.Length == 0) return fragments;
        fragments.Add(new Fragment(0, text.Length, -1));

        foreach (int id in _userDefined)
        {
            string special = _vocab.TokenArray[id];
            List<Fragment>? next = null;
            for (int f = 0; f < fragments.Count; f++)
            {
                var frag = fragments[f];
                int at = frag.TokenId < 0 ? text.IndexOf(special, frag.Start, frag.Length, StringComparison.Ordinal) : -1;
                if (at < 0)
                {
                    next?.Add(frag);
                    continue;
                }
                next ??= fragments.GetRange(0, f);
                int start = frag.Start, end = frag.Start + frag.Length;
                while (at >= 0)
                {
                    if (at > start) next.Add(new Fragment(start, at - start, -1));
                    next.Add(new Fragment(at, special.Length, id));
                    start = at + special.Length;
                    at = start < end ? text.IndexOf(special, start, end - start, StringComparison.Ordinal) : -1;
                }
                if (start < end) next.Add(new Fragment(start, end - start, -1));
            }
            if (next is not null) fragments = next;
        }
        return fragments;
    }

    private struct Symbol
    {
        public int Prev;
        public int Next;
        public int Start; // into the escaped text, in chars
        public int Length; // 0 once merged into its left neighbour
    }

    private readonly record struct Bigram(int Left, int Right, float Score, int Length);

    // llama.cpp's llm_bigram_spm::comparator on a max-heap: higher score first, then the leftmost pair.
    private sealed class BigramOrder : IComparer<Bigram>
    {
        public static readonly BigramOrder Instance = new();

        public int Compare(Bigram x, Bigram y)
        {
            if (x.Score > y.Score) return -1;
            if (x.Score < y.Score) return 1;
            return x.Left.CompareTo(y.Left);
        }
    }

    /// <summary>llm_tokenizer_spm_session::tokenize on text whose spaces are already ▁.</summary>
    private void TokenizeEscaped(ReadOnlySpan<char> text, List<int> output)
    {
        // One symbol per code point (llama.cpp: per UTF-8 character).
        var symbols = new Symbol[text.Length];
        int count = 0;
        for (int i = 0; i < text.Length;)
        {
            int len = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            symbols[count] = new Symbol { Prev = count - 1, Next = i + len == text.Length ? -1 : count + 1, Start = i, Length = len };
            count++;
            i += len;
        }

        var queue = new PriorityQueue<Bigram, Bigram>(count, BigramOrder.Instance);
        for (int i = 1; i < count; i++) TryAddBigram(text, symbols, queue, i - 1, i);

        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref symbols[bigram.Left];
            ref var right = ref symbols[bigram.Right];

            // Skip pairs made stale by an earlier merge of either side.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Length) continue;

            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) symbols[right.Next].Prev = bigram.Left;

            TryAddBigram(text, symbols, queue, left.Prev, bigram.Left);
            TryAddBigram(text, symbols, queue, bigram.Left, left.Next);
        }

        // Resegment. Every merged symbol is a vocabulary token by construction, so only single code points can miss
        // the lookup; llama.cpp's recursion through rev_merge therefore never fires and is left out here.
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i != -1; i = symbols[i].Next)
        {
            var piece = text.Slice(symbols[i].Start, symbols[i].Length);
            if (_vocab.TryGetId(piece, out int id))
            {
                output.Add(id);
                continue;
            }
            int nBytes = Encoding.UTF8.GetBytes(piece, utf8);
            for (int b = 0; b < nBytes; b++)
            {
                int byteId = _byteToToken[utf8[b]];
                if (byteId < 0)
                {
                    throw new LlamaAotException($"the vocabulary has no byte token <0x{utf8[b]:X2}> and no unknown token");
                }
                output.Add(byteId);
            }
        }
    }

    private void TryAddBigram(ReadOnlySpan<char> text, Symbol[] symbols, PriorityQueue<Bigram, Bigram> queue, int left, int right)
    {
        if (left == -1 || right == -1) return;
        int length = symbols[left].Length + symbols[right].Length;
        if (!_vocab.TryGetId(text.Slice(symbols[left].Start, length), out int id)) return;
        var bigram = new Bigram(left, right, _vocab.ScoreArray[id], length);
        queue.Enqueue(bigram, bigram);
    }

    // A C# string can hold lone surrogates; llama.cpp only ever sees UTF-8, where they would have become U+FFFD.
    private static string ReplaceLoneSurrogates(string text)
    {
        int i = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0) return text;
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c)) return Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));
        }
        return text;
    }

    private static byte ParseByteToken(string text, int id)
    {
        // "<0xNN>"; llama.cpp reads the two hex digits at offset 3.
        if (text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>'
            && byte.TryParse(text.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte b))
        {
            return b;
        }
        throw new LlamaAotException($"byte token {id} has text '{text}', expected <0xNN>");
    }

    /// <summary>The exact bytes llama.cpp's token_to_piece gives for a token (lstrip 0). Without
    /// <paramref name="special"/>, control and unknown tokens give nothing.</summary>
    public ReadOnlySpan<byte> TokenToPieceBytes(int id, bool special = false)
    {
        if ((uint)id >= (uint)_pieces.Length) throw new ArgumentOutOfRangeException(nameof(id), id, "token id out of range");
        return special ? _specialPieces[id] : _pieces[id];
    }

    /// <summary><see cref="TokenToPieceBytes"/> as text; a piece that is part of a UTF-8 character shows as U+FFFD.</summary>
    public string TokenToPiece(int id, bool special = false) => Encoding.UTF8.GetString(TokenToPieceBytes(id, special));

    /// <summary>llama_detokenize with remove_special and unparse_special false: the pieces joined, minus one leading
    /// space of the first piece when the vocab adds a space prefix (undoing what Encode added).</summary>
    public string Decode(ReadOnlySpan<int> ids) => Decode(ids, removeSpecial: false, unparseSpecial: false);

    /// <summary>llama_detokenize. <paramref name="removeSpecial"/> drops a leading BOS / trailing EOS that the vocab
    /// would add (and then keeps the leading space, as llama.cpp does); <paramref name="unparseSpecial"/> prints
    /// control and unknown tokens as their text.</summary>
    public string Decode(ReadOnlySpan<int> ids, bool removeSpecial, bool unparseSpecial)
    {
        bool removeSpace = _vocab.AddSpacePrefix;
        if (removeSpecial && _vocab.AddBos && ids.Length > 0 && ids[0] == _vocab.BosId)
        {
            removeSpace = false;
            ids = ids[1..];
        }
        if (removeSpecial && _vocab.AddEos && ids.Length > 0 && ids[^1] == _vocab.EosId) ids = ids[..^1];

        int total = 0;
        foreach (int id in ids) total += TokenToPieceBytes(id, unparseSpecial).Length;
        byte[] rented = ArrayPool<byte>.Shared.Rent(Math.Max(total, 1));
        try
        {
            int w = 0;
            foreach (int id in ids)
            {
                var piece = TokenToPieceBytes(id, unparseSpecial);
                // Only the very first token is stripped, even if its piece is empty (llama.cpp's lstrip).
                if (removeSpace && piece.Length > 0 && piece[0] == (byte)' ') piece = piece[1..];
                removeSpace = false;
                piece.CopyTo(rented.AsSpan(w));
                w += piece.Length;
            }
            return Encoding.UTF8.GetString(rented, 0, w);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
