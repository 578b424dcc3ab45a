// Token-at-a-time detokenizer for generation output: emits only whole UTF-8 characters, holding back the first bytes
// of a character that byte-fallback tokens spell out over several steps.
using System.Text;

namespace LlamaAot.Tokenizer;

public sealed class StreamingDecoder
{
    private readonly SpmTokenizer _tokenizer;
    private readonly bool _special;
    private bool _stripLeadingSpace;
    private byte[] _work = new byte[64];   // held bytes + the new piece; what Push returns is a prefix of it
    private readonly byte[] _held = new byte[4];
    private int _heldCount;

    /// <param name="stripLeadingSpace">True when the first token pushed starts a decoded sequence (llama_detokenize's
    /// rule: one leading space of the first piece is dropped if the vocab adds a space prefix). False when the tokens
    /// continue a prompt, e.g. generated tokens, whose leading space is real.</param>
    /// <param name="special">Print control and unknown tokens as their text (token_to_piece's special).</param>
    public StreamingDecoder(SpmTokenizer tokenizer, bool stripLeadingSpace, bool special = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _special = special;
        _stripLeadingSpace = stripLeadingSpace && tokenizer.Vocab.AddSpacePrefix;
    }

    /// <summary>Bytes of an unfinished character waiting for the next token.</summary>
    public int PendingByteCount => _heldCount;

    /// <summary>Adds one token; returns the text of every character it completes (possibly empty).</summary>
    public string Push(int id)
    {
        var bytes = PushUtf8(id);
        return bytes.IsEmpty ? string.Empty : Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Adds one token; returns the UTF-8 of every character it completes. The span is only valid until the
    /// next call. Invalid sequences that no later byte can repair are passed through (they decode as U+FFFD).</summary>
    public ReadOnlySpan<byte> PushUtf8(int id)
    {
        var piece = _tokenizer.TokenToPieceBytes(id, _special);
        if (_stripLeadingSpace)
        {
            // Only the first token is considered, even when its piece is empty, as in llama_detokenize.
            _stripLeadingSpace = false;
            if (piece.Length > 0 && piece[0] == (byte)' ') piece = piece[1..];
        }

        int total = _heldCount + piece.Length;
        if (_work.Length < total) Array.Resize(ref _work, Math.Max(total, _work.Length * 2));
        _held.AsSpan(0, _heldCount).CopyTo(_work);
        piece.CopyTo(_work.AsSpan(_heldCount));

        int complete = total - IncompleteTailLength(_work.AsSpan(0, total));
        _heldCount = total - complete;
        _work.AsSpan(complete, _heldCount).CopyTo(_held);
        return _work.AsSpan(0, complete);
    }

    /// <summary>Ends the stream: bytes of a character that never completed come out as U+FFFD.</summary>
    public string Flush()
    {
        if (_heldCount == 0) return string.Empty;
        string s = Encoding.UTF8.GetString(_held, 0, _heldCount);
        _heldCount = 0;
        return s;
    }

    // The length of a trailing sequence that is a valid start of a character still missing bytes (at most 3). A lead
    // byte is never a continuation of something earlier, so looking back from the end for it finds the same
    // boundary a forward decode would.
    private static int IncompleteTailLength(ReadOnlySpan<byte> bytes)
    {
        for (int k = 1; k <= 3 && k <= bytes.Length; k++)
        {
            byte b = bytes[^k];
            if ((b & 0xC0) == 0x80) continue;
            var tail = bytes[^k..];
            return System.Text.Rune.DecodeFromUtf8(tail, out _, out int consumed) == System.Buffers.OperationStatus.NeedMoreData
                && consumed == tail.Length ? k : 0;
        }
        return 0;
    }
}
