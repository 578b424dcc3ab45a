// GGUF reader: parses and validates the header of a memory-mapped file, then hands out tensor data as pointers
// into the mapping. Layout (v2/v3, little-endian):
//   "GGUF" u32 version, u64 n_tensors, u64 n_kv, n_kv × (string key, u32 type, value),
//   n_tensors × (string name, u32 n_dims, u64 dims[n_dims], u32 ggml type, u64 offset),
//   zero padding to general.alignment, then the data section; each tensor's offset is relative to its start.
// Every count and length is bounded by the bytes that remain before anything is allocated or read, so a hostile
// file can only produce a GgufFormatException.
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Gguf;

public sealed unsafe class GgufFile : IDisposable
{
    public const uint Magic = 0x46554747;          // "GGUF" read as a little-endian u32
    public const uint DefaultAlignment = 32;
    public const string AlignmentKey = "general.alignment";
    private const int MaxDims = 4;                 // GGML_MAX_DIMS
    private const int MaxArrayNesting = 8;         // bounds recursion on arrays of arrays
    private const int MinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;   // empty name, one dim, type, offset
    private const int MinKvBytes = 8 + 4 + 1;                   // empty key, type, one-byte value

    private readonly IDisposable? _owner;
    private readonly Dictionary<string, GgufTensorInfo> _byName;

    private GgufFile(string path, byte* data, long length, IDisposable? owner, uint version, GgufMetadata metadata,
        List<GgufTensorInfo> tensors, uint alignment, long dataOffset)
    {
        Path = path;
        BasePointer = data;
        FileLength = length;
        _owner = owner;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        _byName = new Dictionary<string, GgufTensorInfo>(tensors.Count, StringComparer.Ordinal);
        foreach (var t in tensors) _byName[t.Name] = t;
    }

    public string Path { get; }
    public uint Version { get; }
    public GgufMetadata Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public uint Alignment { get; }
    /// <summary>File offset where the data section starts (tensor offsets are relative to it).</summary>
    public long DataOffset { get; }
    public long FileLength { get; }
    /// <summary>Start of the mapping; valid until Dispose.</summary>
    public byte* BasePointer { get; }

    /// <summary>Memory-maps and parses a GGUF file.</summary>
    public static GgufFile Open(string path)
    {
        var mapped = MappedFile.Open(path);
        try
        {
            return Parse(path, mapped.Pointer, mapped.Length, mapped);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    /// <summary>Parses an in-memory image (tests, fuzzing). The array is pinned, not copied, until Dispose.</summary>
    public static GgufFile FromBytes(byte[] bytes, string name = "<memory>")
    {
        var pin = new PinnedArray(bytes);
        try
        {
            return Parse(name, pin.Pointer, bytes.Length, pin);
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    public GgufTensorInfo? FindTensor(string name) => _byName.GetValueOrDefault(name);

    public GgufTensorInfo GetTensor(string name) =>
        FindTensor(name) ?? throw new LlamaAotException($"'{Path}': tensor '{name}' is missing");

    /// <summary>Pointer to a tensor's bytes inside the mapping (validated at parse time to lie within the file).</summary>
    public byte* GetDataPointer(GgufTensorInfo tensor) => BasePointer + DataOffset + (long)tensor.Offset;

    /// <summary>A tensor's bytes as a span; tensors over 2 GiB must use <see cref="GetDataPointer"/>.</summary>
    public ReadOnlySpan<byte> GetData(GgufTensorInfo tensor)
    {
        if (tensor.ByteSize > int.MaxValue) throw new NotSupportedException($"tensor '{tensor.Name}' is larger than 2 GiB; use GetDataPointer");
        return new ReadOnlySpan<byte>(GetDataPointer(tensor), (int)tensor.ByteSize);
    }

    /// <summary>The whole file as a span (for files up to 2 GiB).</summary>
    public ReadOnlySpan<byte> GetFileBytes(long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset + length > FileLength) throw new ArgumentOutOfRangeException(nameof(length));
        return new ReadOnlySpan<byte>(BasePointer + offset, length);
    }

    /// <summary>Asks the OS to read the whole file ahead; returns null on success, else a reason to warn about.</summary>
    public string? Prefetch() => MemoryAdvice.Prefetch(BasePointer, FileLength);

    /// <summary>Pins the mapping in RAM (mlock); returns null on success, else a reason (e.g. RLIMIT_MEMLOCK).</summary>
    public string? LockInMemory() => MemoryAdvice.LockInMemory(BasePointer, FileLength);

    public void Dispose() => _owner?.Dispose();

    private static GgufFile Parse(string path, byte* data, long length, IDisposable owner)
    {
        var c = new GgufCursor(data, length, path);
        if (length < 4) throw c.Error($"file is too short for a GGUF header ({length} bytes)", 0);
        uint magic = c.ReadU32("magic");
        if (magic != Magic) throw c.Error($"bad magic 0x{magic:X8}, expected \"GGUF\"", 0);

        uint version = c.ReadU32("version");
        if (version is 2 or 3)
        {
            // supported
        }
        else if (version != 0 && (version & 0xFFFF) == 0)
        {
            throw c.Error($"version field 0x{version:X8} looks byte-swapped: big-endian GGUF files are not supported", 4);
        }
        else
        {
            throw c.Error($"unsupported GGUF version {version} (supported: 2, 3)", 4);
        }

        ulong nTensors = c.ReadU64("tensor count");
        ulong nKv = c.ReadU64("metadata count");
        if (nTensors > (ulong)c.Remaining / MinTensorInfoBytes)
        {
            throw c.Error($"tensor count {nTensors} cannot fit in the {length}-byte file", 8);
        }
        if (nTensors > int.MaxValue)
        {
            throw c.Error($"tensor count {nTensors} is more than the {int.MaxValue} this reader supports", 8);
        }
        if (nKv > (ulong)c.Remaining / MinKvBytes)
        {
            throw c.Error($"metadata count {nKv} cannot fit in the {length}-byte file", 16);
        }

        var metadata = new GgufMetadata();
        long alignmentAt = -1;
        for (ulong i = 0; i < nKv; i++)
        {
            long at = c.Position;
            string key = c.ReadString("metadata key");
            long typeAt = c.Position;
            uint typeId = c.ReadU32($"type of '{key}'");
            if (!GgufValueTypes.IsDefined(typeId)) throw c.Error($"metadata key '{key}' has unknown value type {typeId}", typeAt);
            var value = ReadValue(ref c, (GgufValueType)typeId, key, 0);
            if (!metadata.TryAdd(key, value)) throw c.Error($"duplicate metadata key '{key}'", at);
            if (key == AlignmentKey) alignmentAt = at;
        }

        uint alignment = DefaultAlignment;
        if (metadata.TryGetValue(AlignmentKey, out var alignValue))
        {
            // Errors point at the general.alignment entry itself, wherever it sits among the keys.
            if (alignValue.Value is not uint a) throw c.Error($"{AlignmentKey} must be u32, found {GgufValueTypes.Name(alignValue.Type)}", alignmentAt);
            if (a == 0 || (a & (a - 1)) != 0) throw c.Error($"{AlignmentKey} = {a} is not a power of two", alignmentAt);
            alignment = a;
        }

        // The count is only bounded by the file size, so it must not size an allocation: a huge (even sparse) file
        // could otherwise ask for gigabytes before the first entry is checked.
        var tensors = new List<GgufTensorInfo>((int)Math.Min(nTensors, 1024));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < nTensors; i++)
        {
            tensors.Add(ReadTensorInfo(ref c, names));
        }

        long headerEnd = c.Position;
        long dataOffset = AlignUp(headerEnd, alignment);
        ValidateTensorData(ref c, tensors, dataOffset, length, alignment);
        return new GgufFile(path, data, length, owner, version, metadata, tensors, alignment, dataOffset);
    }

    private static GgufTensorInfo ReadTensorInfo(ref GgufCursor c, HashSet<string> names)
    {
        long at = c.Position;
        string name = c.ReadString("tensor name");
        if (!names.Add(name)) throw c.Error($"duplicate tensor name '{name}'", at);
        long dimsAt = c.Position;
        uint nDims = c.ReadU32($"n_dims of '{name}'");
        if (nDims is < 1 or > MaxDims) throw c.Error($"tensor '{name}' has n_dims {nDims} (must be 1..{MaxDims})", dimsAt);

        var dims = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++)
        {
            long dimAt = c.Position;
            ulong dim = c.ReadU64($"dimension {d} of '{name}'");
            if (dim == 0) throw c.Error($"tensor '{name}' has dimension {d} of size 0", dimAt);
            if (dim > long.MaxValue || elements > long.MaxValue / (long)dim)
            {
                throw c.Error($"tensor '{name}' element count overflows (dimension {d} = {dim})", dimAt);
            }
            dims[d] = (long)dim;
            elements *= (long)dim;
        }

        long typeAt = c.Position;
        uint typeId = c.ReadU32($"type of '{name}'");
        if (!GgmlTypes.TryGet(typeId, out var info)) throw c.Error($"tensor '{name}' has unknown ggml type id {typeId}", typeAt);
        if (dims[0] % info.BlockSize != 0)
        {
            throw c.Error($"tensor '{name}' row length {dims[0]} is not a multiple of the {info.Name} block size {info.BlockSize}", dimsAt);
        }
        long blocks = elements / info.BlockSize;
        if (blocks > long.MaxValue / info.TypeSize) throw c.Error($"tensor '{name}' byte size overflows", dimsAt);
        ulong offset = c.ReadU64($"data offset of '{name}'");
        return new GgufTensorInfo(name, dims, info.Type, offset, elements, blocks * info.TypeSize) { InfoPosition = at };
    }

    private static void ValidateTensorData(ref GgufCursor c, List<GgufTensorInfo> tensors, long dataOffset, long fileLength, uint alignment)
    {
        if (tensors.Count == 0) return;
        long dataBytes = fileLength - dataOffset;
        foreach (var t in tensors)
        {
            if (t.Offset % alignment != 0)
            {
                throw c.Error($"tensor '{t.Name}' data offset {t.Offset} is not aligned to {alignment}", t.InfoPosition);
            }
            if (dataBytes < 0 || t.Offset > (ulong)dataBytes || (ulong)t.ByteSize > (ulong)dataBytes - t.Offset)
            {
                throw c.Error($"tensor '{t.Name}' data [{t.Offset}, +{t.ByteSize}) lies past the end of the file " +
                              $"(data section holds {Math.Max(0, dataBytes)} bytes)", t.InfoPosition);
            }
        }

        var byOffset = tensors.ToArray();
        Array.Sort(byOffset, (a, b) => a.Offset.CompareTo(b.Offset));
        for (int i = 1; i < byOffset.Length; i++)
        {
            var prev = byOffset[i - 1];
            var cur = byOffset[i];
            if (prev.Offset + (ulong)prev.ByteSize > cur.Offset)
            {
                throw c.Error($"tensor '{cur.Name}' data overlaps tensor '{prev.Name}'", cur.InfoPosition);
            }
        }
    }

    private static GgufValue ReadValue(ref GgufCursor c, GgufValueType type, string key, int depth)
    {
        string what = $"value of '{key}'";
        switch (type)
        {
            case GgufValueType.UInt8: return new(type, c.ReadU8(what));
            case GgufValueType.Int8: return new(type, (sbyte)c.ReadU8(what));
            case GgufValueType.UInt16: return new(type, c.ReadU16(what));
            case GgufValueType.Int16: return new(type, (short)c.ReadU16(what));
            case GgufValueType.UInt32: return new(type, c.ReadU32(what));
            case GgufValueType.Int32: return new(type, (int)c.ReadU32(what));
            case GgufValueType.Float32: return new(type, c.ReadF32(what));
            case GgufValueType.UInt64: return new(type, c.ReadU64(what));
            case GgufValueType.Int64: return new(type, (long)c.ReadU64(what));
            case GgufValueType.Float64: return new(type, c.ReadF64(what));
            case GgufValueType.Bool: return new(type, ReadBool(ref c, what));
            case GgufValueType.String: return new(type, c.ReadString(what));
            case GgufValueType.Array: return new(type, ReadArray(ref c, key, depth));
            default: throw c.Error($"metadata key '{key}' has unknown value type {(uint)type}");
        }
    }

    private static bool ReadBool(ref GgufCursor c, string what)
    {
        long at = c.Position;
        byte b = c.ReadU8(what);
        return b switch
        {
            0 => false,
            1 => true,
            _ => throw c.Error($"{what} is a bool with byte value {b}", at),
        };
    }

    private static GgufArray ReadArray(ref GgufCursor c, string key, int depth)
    {
        long at = c.Position;
        if (depth >= MaxArrayNesting) throw c.Error($"metadata key '{key}' nests arrays deeper than {MaxArrayNesting}", at);
        uint elemId = c.ReadU32($"array element type of '{key}'");
        if (!GgufValueTypes.IsDefined(elemId)) throw c.Error($"metadata key '{key}' has unknown array element type {elemId}", at);
        var elem = (GgufValueType)elemId;
        long countAt = c.Position;
        ulong count = c.ReadU64($"array length of '{key}'");
        ulong minBytes = (ulong)GgufValueTypes.MinEncodedSize(elem);
        if (count > (ulong)c.Remaining / minBytes || count > int.MaxValue)
        {
            throw c.Error($"metadata key '{key}' array length {count} runs past the end of the file", countAt);
        }
        int n = (int)count;
        string what = $"element of '{key}'";
        switch (elem)
        {
            case GgufValueType.UInt8: return new(elem, Fill<byte>(ref c, n, (ref GgufCursor r) => r.ReadU8(what)));
            case GgufValueType.Int8: return new(elem, Fill<sbyte>(ref c, n, (ref GgufCursor r) => (sbyte)r.ReadU8(what)));
            case GgufValueType.UInt16: return new(elem, Fill<ushort>(ref c, n, (ref GgufCursor r) => r.ReadU16(what)));
            case GgufValueType.Int16: return new(elem, Fill<short>(ref c, n, (ref GgufCursor r) => (short)r.ReadU16(what)));
            case GgufValueType.UInt32: return new(elem, Fill<uint>(ref c, n, (ref GgufCursor r) => r.ReadU32(what)));
            case GgufValueType.Int32: return new(elem, Fill<int>(ref c, n, (ref GgufCursor r) => (int)r.ReadU32(what)));
            case GgufValueType.Float32: return new(elem, Fill<float>(ref c, n, (ref GgufCursor r) => r.ReadF32(what)));
            case GgufValueType.UInt64: return new(elem, Fill<ulong>(ref c, n, (ref GgufCursor r) => r.ReadU64(what)));
            case GgufValueType.Int64: return new(elem, Fill<long>(ref c, n, (ref GgufCursor r) => (long)r.ReadU64(what)));
            case GgufValueType.Float64: return new(elem, Fill<double>(ref c, n, (ref GgufCursor r) => r.ReadF64(what)));
            case GgufValueType.Bool: return new(elem, Fill<bool>(ref c, n, (ref GgufCursor r) => ReadBool(ref r, what)));
            case GgufValueType.String: return new(elem, Fill<string>(ref c, n, (ref GgufCursor r) => r.ReadString(what)));
            default:
                var nested = new GgufArray[n];
                for (int i = 0; i < n; i++) nested[i] = ReadArray(ref c, key, depth + 1);
                return new(elem, nested);
        }
    }

    private delegate T ElementReader<T>(ref GgufCursor c);

    private static T[] Fill<T>(ref GgufCursor c, int n, ElementReader<T> read)
    {
        var items = new T[n];
        for (int i = 0; i < n; i++) items[i] = read(ref c);
        return items;
    }

    public static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    private sealed class PinnedArray : IDisposable
    {
        private System.Runtime.InteropServices.GCHandle _handle;

        public PinnedArray(byte[] bytes)
        {
            _handle = System.Runtime.InteropServices.GCHandle.Alloc(bytes, System.Runtime.InteropServices.GCHandleType.Pinned);
            Pointer = (byte*)_handle.AddrOfPinnedObject();
        }

        public byte* Pointer { get; }

        public void Dispose()
        {
            if (_handle.IsAllocated) _handle.Free();
        }
    }
}
