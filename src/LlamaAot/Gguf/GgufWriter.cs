// GGUF writer: metadata in insertion order, tensor infos with offsets assigned in order and aligned, zero padding
// to the alignment before the data section and after every tensor — the layout ggml's own writer produces, so a
// file read and written back comes out byte-identical.
using System.Buffers.Binary;
using System.Text;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Gguf;

public sealed class GgufWriter
{
    private readonly List<PendingTensor> _tensors = [];

    /// <summary>Writes a tensor's bytes to the stream; must write exactly the tensor's byte size.</summary>
    public delegate void TensorDataSource(Stream destination);

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Dims, long ByteSize, TensorDataSource Source);

    public GgufWriter(uint version = 3)
    {
        if (version is not (2 or 3)) throw new ArgumentOutOfRangeException(nameof(version), "GGUF version must be 2 or 3");
        Version = version;
    }

    public uint Version { get; }
    public GgufMetadata Metadata { get; } = new();

    /// <summary>general.alignment if set (it must be a power-of-two u32, or the reader would reject the file), else 32.</summary>
    public uint Alignment
    {
        get
        {
            if (!Metadata.TryGetValue(GgufFile.AlignmentKey, out var v)) return GgufFile.DefaultAlignment;
            if (v.Value is uint a && a != 0 && (a & (a - 1)) == 0) return a;
            throw new InvalidOperationException($"{GgufFile.AlignmentKey} must be a power-of-two u32, got {GgufValueTypes.Name(v.Type)} {v}");
        }
    }

    public void AddTensor(string name, GgmlType type, long[] dims, TensorDataSource source)
    {
        if (dims.Length is < 1 or > 4) throw new ArgumentException($"tensor '{name}' must have 1..4 dims", nameof(dims));
        var info = GgmlTypes.Get(type);
        long elements = 1;
        foreach (long d in dims)
        {
            if (d <= 0) throw new ArgumentException($"tensor '{name}' has a non-positive dimension", nameof(dims));
            elements = checked(elements * d);
        }
        if (dims[0] % info.BlockSize != 0) throw new ArgumentException($"tensor '{name}' row length {dims[0]} is not a multiple of {info.BlockSize}");
        if (_tensors.Exists(t => t.Name == name)) throw new ArgumentException($"duplicate tensor name '{name}'", nameof(name));
        _tensors.Add(new PendingTensor(name, type, dims, elements / info.BlockSize * info.TypeSize, source));
    }

    public void AddTensor(string name, GgmlType type, long[] dims, byte[] data)
    {
        AddTensor(name, type, dims, s => s.Write(data));
        if (_tensors[^1].ByteSize != data.Length)
        {
            long needed = _tensors[^1].ByteSize;
            _tensors.RemoveAt(_tensors.Count - 1);   // leave the writer as it was: a rejected tensor must not be written
            throw new ArgumentException($"tensor '{name}' needs {needed} bytes, got {data.Length}");
        }
    }

    /// <summary>A writer pre-filled with everything in <paramref name="file"/>; tensor bytes are streamed from its mapping.</summary>
    public static unsafe GgufWriter CopyOf(GgufFile file)
    {
        var w = new GgufWriter(file.Version);
        foreach (var kv in file.Metadata.Entries) w.Metadata.TryAdd(kv.Key, kv.Value);
        foreach (var t in file.Tensors)
        {
            var tensor = t;
            w.AddTensor(t.Name, t.Type, t.Dims, s => WriteUnmanaged(s, file.GetDataPointer(tensor), tensor.ByteSize));
        }
        return w;
    }

    internal static unsafe void WriteUnmanaged(Stream s, byte* p, long count)
    {
        const int chunk = 1 << 24;
        while (count > 0)
        {
            int n = (int)Math.Min(count, chunk);
            s.Write(new ReadOnlySpan<byte>(p, n));
            p += n;
            count -= n;
        }
    }

    public void WriteTo(string path)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        WriteTo(fs);
    }

    public void WriteTo(Stream output)
    {
        var s = new BufferedStream(output, 1 << 20);
        long pos = 0;
        void Put(ReadOnlySpan<byte> bytes)
        {
            s.Write(bytes);
            pos += bytes.Length;
        }
        byte[] scratch = new byte[8];
        void U32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(scratch, v); Put(scratch.AsSpan(0, 4)); }
        void U64(ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(scratch, v); Put(scratch.AsSpan(0, 8)); }

        U32(GgufFile.Magic);
        U32(Version);
        U64((ulong)_tensors.Count);
        U64((ulong)Metadata.Count);
        foreach (var kv in Metadata.Entries)
        {
            WriteString(kv.Key);
            U32((uint)kv.Value.Type);
            WriteValue(kv.Value.Type, kv.Value.Value);
        }

        uint alignment = Alignment;
        ulong offset = 0;
        foreach (var t in _tensors)
        {
            WriteString(t.Name);
            U32((uint)t.Dims.Length);
            foreach (long d in t.Dims) U64((ulong)d);
            U32((uint)t.Type);
            U64(offset);
            offset = (ulong)GgufFile.AlignUp((long)(offset + (ulong)t.ByteSize), alignment);
        }

        if (_tensors.Count > 0) Pad();
        foreach (var t in _tensors)
        {
            s.Flush();
            long before = output.CanSeek ? output.Position : -1;
            t.Source(s);
            s.Flush();
            if (before >= 0 && output.Position - before != t.ByteSize)
            {
                throw new InvalidOperationException($"tensor '{t.Name}' wrote {output.Position - before} bytes, expected {t.ByteSize}");
            }
            pos += t.ByteSize;
            Pad();
        }
        s.Flush();

        void Pad()
        {
            long padded = GgufFile.AlignUp(pos, alignment);
            for (; pos < padded; pos++) s.WriteByte(0);
        }

        void WriteString(string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            U64((ulong)bytes.Length);
            Put(bytes);
        }

        void WriteValue(GgufValueType type, object value)
        {
            switch (type)
            {
                case GgufValueType.UInt8: Put([(byte)value]); break;
                case GgufValueType.Int8: Put([(byte)(sbyte)value]); break;
                case GgufValueType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(scratch, (ushort)value); Put(scratch.AsSpan(0, 2)); break;
                case GgufValueType.Int16: BinaryPrimitives.WriteInt16LittleEndian(scratch, (short)value); Put(scratch.AsSpan(0, 2)); break;
                case GgufValueType.UInt32: U32((uint)value); break;
                case GgufValueType.Int32: U32((uint)(int)value); break;
                case GgufValueType.Float32: BinaryPrimitives.WriteSingleLittleEndian(scratch, (float)value); Put(scratch.AsSpan(0, 4)); break;
                case GgufValueType.UInt64: U64((ulong)value); break;
                case GgufValueType.Int64: U64((ulong)(long)value); break;
                case GgufValueType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(scratch, (double)value); Put(scratch.AsSpan(0, 8)); break;
                case GgufValueType.Bool: Put([(bool)value ? (byte)1 : (byte)0]); break;
                case GgufValueType.String: WriteString((string)value); break;
                case GgufValueType.Array:
                    var a = (GgufArray)value;
                    U32((uint)a.ElementType);
                    U64((ulong)a.Count);
                    foreach (object? item in a.Items) WriteValue(a.ElementType, item!);
                    break;
                default: throw new InvalidOperationException($"cannot write value type {type}");
            }
        }
    }
}
