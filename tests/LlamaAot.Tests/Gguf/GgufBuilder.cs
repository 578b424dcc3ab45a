// Test-side GGUF byte builder: writes every field by hand (magic, version, counts, keys, value tags, array headers,
// tensor infos, padding, data) so a hostile image is one line away from a valid one. It shares no code with the
// reader or writer under test; Mark() records the offset of a field so a test can assert where an error points.
using System.Buffers.Binary;
using System.Text;
using LlamaAot.Gguf;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Tests.Gguf;

public sealed class GgufBuilder
{
    public const uint MagicValue = 0x46554747;   // "GGUF" as a little-endian u32

    private readonly MemoryStream _bytes = new();
    private readonly Dictionary<string, long> _marks = new(StringComparer.Ordinal);

    /// <summary>Bytes written so far (the offset of the next field).</summary>
    public long Position => _bytes.Length;

    /// <summary>Offsets recorded with <see cref="Mark"/>.</summary>
    public IReadOnlyDictionary<string, long> Marks => _marks;

    public long this[string mark] => _marks[mark];

    /// <summary>Records the current offset under <paramref name="name"/>.</summary>
    public GgufBuilder Mark(string name)
    {
        _marks[name] = Position;
        return this;
    }

    public byte[] ToArray() => _bytes.ToArray();

    // ---- raw little-endian fields ----

    public GgufBuilder Bytes(ReadOnlySpan<byte> bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public GgufBuilder U8(byte v) => Bytes([v]);
    public GgufBuilder I8(sbyte v) => Bytes([(byte)v]);

    public GgufBuilder U16(ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        return Bytes(b);
    }

    public GgufBuilder I16(short v) => U16((ushort)v);

    public GgufBuilder U32(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return Bytes(b);
    }

    public GgufBuilder I32(int v) => U32((uint)v);

    public GgufBuilder U64(ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return Bytes(b);
    }

    public GgufBuilder I64(long v) => U64((ulong)v);
    public GgufBuilder F32(float v) => U32(BitConverter.SingleToUInt32Bits(v));
    public GgufBuilder F64(double v) => U64(BitConverter.DoubleToUInt64Bits(v));
    public GgufBuilder Bool(bool v) => U8(v ? (byte)1 : (byte)0);

    /// <summary>A GGUF string: u64 byte length, then the UTF-8 bytes.</summary>
    public GgufBuilder Str(string s)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(s);
        return U64((ulong)utf8.Length).Bytes(utf8);
    }

    /// <summary>A string whose length field is <paramref name="declaredLength"/> whatever bytes follow.</summary>
    public GgufBuilder StrRaw(ulong declaredLength, ReadOnlySpan<byte> bytes) => U64(declaredLength).Bytes(bytes);

    public GgufBuilder Zeros(int count) => Bytes(new byte[count]);

    /// <summary>Zero bytes up to the next multiple of <paramref name="alignment"/> (counted from the start of the image).</summary>
    public GgufBuilder PadTo(long alignment)
    {
        long pad = (alignment - Position % alignment) % alignment;
        return Zeros((int)pad);
    }

    // ---- structure ----

    /// <summary>Magic, version, tensor count, metadata count: the fixed 24-byte header.</summary>
    public GgufBuilder Header(ulong tensorCount, ulong kvCount, uint version = 3, uint magic = MagicValue) =>
        U32(magic).U32(version).U64(tensorCount).U64(kvCount);

    /// <summary>A key and its value-type tag (the value follows, written by the caller). Marks "kv:KEY".</summary>
    public GgufBuilder Key(string key, GgufValueType type) => Key(key, (uint)type);

    public GgufBuilder Key(string key, uint rawType) => Mark("kv:" + key).Str(key).U32(rawType);

    /// <summary>Array header: element type tag then u64 element count (elements follow).</summary>
    public GgufBuilder ArrayHeader(GgufValueType elementType, ulong count) => U32((uint)elementType).U64(count);

    public GgufBuilder ArrayHeader(uint rawElementType, ulong count) => U32(rawElementType).U64(count);

    public GgufBuilder KvU8(string key, byte v) => Key(key, GgufValueType.UInt8).U8(v);
    public GgufBuilder KvU32(string key, uint v) => Key(key, GgufValueType.UInt32).U32(v);
    public GgufBuilder KvI32(string key, int v) => Key(key, GgufValueType.Int32).I32(v);
    public GgufBuilder KvU64(string key, ulong v) => Key(key, GgufValueType.UInt64).U64(v);
    public GgufBuilder KvF32(string key, float v) => Key(key, GgufValueType.Float32).F32(v);
    public GgufBuilder KvBool(string key, bool v) => Key(key, GgufValueType.Bool).Bool(v);
    public GgufBuilder KvString(string key, string v) => Key(key, GgufValueType.String).Str(v);

    /// <summary>Tensor info with raw dims, type id and offset. Marks "tensor:NAME" (a second one with the same name
    /// overwrites the mark, which is what duplicate-name tests want).</summary>
    public GgufBuilder TensorInfo(string name, ulong[] dims, uint typeId, ulong offset)
    {
        Mark("tensor:" + name).Str(name).U32((uint)dims.Length);
        foreach (ulong d in dims) U64(d);
        return U32(typeId).U64(offset);
    }

    public GgufBuilder TensorInfo(string name, ulong[] dims, GgmlType type, ulong offset) => TensorInfo(name, dims, (uint)type, offset);

    /// <summary>Pads to <paramref name="alignment"/>, marks "data", then appends <paramref name="data"/>.</summary>
    public GgufBuilder Data(ReadOnlySpan<byte> data, long alignment = 32) => PadTo(alignment).Mark("data").Bytes(data);

    // ---- ready-made images ----

    /// <summary>Deterministic non-zero bytes, so a tensor read from the wrong place shows up.</summary>
    public static byte[] Pattern(int length, int salt = 0)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte)((i * 131) + (i >> 8) + (salt * 29) + 7);
        return b;
    }

    /// <summary>A valid v3 file: one KV ("general.name") and one F32 tensor "t" of <paramref name="elements"/> values.</summary>
    public static GgufBuilder SingleTensor(int elements = 32) =>
        new GgufBuilder()
            .Header(tensorCount: 1, kvCount: 1)
            .KvString("general.name", "single")
            .TensorInfo("t", [(ulong)elements], GgmlType.F32, 0)
            .Data(Pattern(elements * 4));

    /// <summary>A valid file with only metadata: header, then whatever the caller adds (no tensors, no padding).</summary>
    public static GgufBuilder MetadataOnly(ulong kvCount) => new GgufBuilder().Header(tensorCount: 0, kvCount: kvCount);
}
