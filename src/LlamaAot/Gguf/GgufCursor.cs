// A bounds-checked little-endian reader over mapped memory. Every read checks the remaining length first,
// so a hostile length can only ever produce a GgufFormatException naming where it was found.
using System.Buffers.Binary;
using System.Text;

namespace LlamaAot.Gguf;

internal unsafe struct GgufCursor
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
    private readonly byte* _base;
    private readonly long _length;
    private readonly string _file;

    public GgufCursor(byte* data, long length, string file)
    {
        _base = data;
        _length = length;
        _file = file;
        Position = 0;
    }

    public long Position { get; private set; }
    public readonly long Remaining => _length - Position;

    public readonly GgufFormatException Error(string problem, long at) => new(_file, at, problem);
    public readonly GgufFormatException Error(string problem) => new(_file, Position, problem);

    private ReadOnlySpan<byte> Take(long count, string what)
    {
        if (count < 0 || count > Remaining)
        {
            throw Error($"{what} needs {count} bytes but only {Remaining} remain (file truncated?)");
        }
        var span = new ReadOnlySpan<byte>(_base + Position, (int)count);
        Position += count;
        return span;
    }

    public byte ReadU8(string what) => Take(1, what)[0];
    public ushort ReadU16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what));
    public uint ReadU32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));
    public ulong ReadU64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));
    public float ReadF32(string what) => BinaryPrimitives.ReadSingleLittleEndian(Take(4, what));
    public double ReadF64(string what) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, what));

    /// <summary>Reads a GGUF string: u64 byte length then UTF-8 bytes, the length checked against the file first.</summary>
    public string ReadString(string what)
    {
        long at = Position;
        ulong len = ReadU64(what + " length");
        if (len > (ulong)Remaining)
        {
            throw Error($"{what} length {len} runs past the end of the file ({Remaining} bytes remain)", at);
        }
        if (len > int.MaxValue) throw Error($"{what} length {len} is too large", at);
        return Utf8.GetString(Take((long)len, what));
    }

    public void Skip(long count, string what) => Take(count, what);
}
