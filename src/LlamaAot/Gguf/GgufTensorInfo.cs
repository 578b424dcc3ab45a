using LlamaAot.Kernels.Quants;

namespace LlamaAot.Gguf;

/// <summary>One tensor's entry in the GGUF header. Dims are ggml order: Dims[0] is the contiguous (row) length.</summary>
public sealed record GgufTensorInfo(string Name, long[] Dims, GgmlType Type, ulong Offset, long ElementCount, long ByteSize)
{
    /// <summary>File position of the info entry (for error messages).</summary>
    public long InfoPosition { get; init; }

    public int NDims => Dims.Length;
    public long Rows => ElementCount / Dims[0];
    public long RowLength => Dims[0];
    public string TypeName => GgmlTypes.Get(Type).Name;
    public string ShapeText => string.Join(" x ", Dims);
}
