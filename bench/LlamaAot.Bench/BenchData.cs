// Deterministic random weights and activations for kernel benchmarks, in native memory aligned to 64 bytes.
using System.Runtime.InteropServices;
using LlamaAot.Kernels.Dispatch;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Bench;

public sealed unsafe class BenchMatrix : IDisposable
{
    public BenchMatrix(GgmlType type, int rows, int cols, int batch, KernelTable kernels, int seed = 1)
    {
        Type = type;
        Rows = rows;
        Cols = cols;
        Batch = batch;
        RowBytes = GgmlTypes.RowBytes(type, cols);
        var k = kernels[type];
        ActType = k.VecDotType;
        ActRowBytes = GgmlTypes.RowBytes(ActType, cols);
        W = (byte*)NativeMemory.AlignedAlloc((nuint)(RowBytes * rows), 64);
        Act = (byte*)NativeMemory.AlignedAlloc((nuint)(ActRowBytes * batch), 64);
        Y = (float*)NativeMemory.AlignedAlloc((nuint)((long)rows * batch * 4), 64);
        var rng = new Random(seed);
        FillWeights(type, rows, cols, rng);
        float* x = (float*)NativeMemory.Alloc((nuint)cols * 4);
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < cols; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
            kernels[ActType].FromFloat(x, Act + b * ActRowBytes, cols);
        }
        NativeMemory.Free(x);
    }

    private void FillWeights(GgmlType type, int rows, int cols, Random rng)
    {
        long bytes = RowBytes * rows;
        var span = new Span<byte>(W, (int)bytes);
        rng.NextBytes(span);
        int blockBytes = GgmlTypes.Get(type).TypeSize;
        switch (type)
        {
            case GgmlType.F16:
                for (long i = 0; i < bytes / 2; i++) ((ushort*)W)[i] = Fp16.FromFloat((float)(rng.NextDouble() * 2 - 1));
                break;
            case GgmlType.BF16:
                for (long i = 0; i < bytes / 2; i++) ((ushort*)W)[i] = (ushort)(BitConverter.SingleToUInt32Bits((float)(rng.NextDouble() * 2 - 1)) >> 16);
                break;
            case GgmlType.F32:
                for (long i = 0; i < bytes / 4; i++) ((float*)W)[i] = (float)(rng.NextDouble() * 2 - 1);
                break;
            default:
                // Random bytes are valid quants and packed scales; only the fp16 fields (d, and dmin/m) need sane values.
                foreach (int field in HalfFields(type))
                {
                    for (long off = 0; off < bytes; off += blockBytes) *(ushort*)(W + off + field) = Fp16.FromFloat((float)(rng.NextDouble() * 0.01 + 0.001));
                }
                break;
        }
    }

    /// <summary>Byte offsets of the fp16 fields in one block of each block format (ggml's block layouts).</summary>
    private static int[] HalfFields(GgmlType type) => type switch
    {
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 => [0],
        GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
        GgmlType.Q2_K => [80, 82],
        GgmlType.Q3_K => [108],
        GgmlType.Q6_K => [208],
        _ => throw new ArgumentException($"no benchmark data for {type}"),
    };

    public GgmlType Type { get; }
    public GgmlType ActType { get; }
    public int Rows { get; }
    public int Cols { get; }
    public int Batch { get; }
    public long RowBytes { get; }
    public long ActRowBytes { get; }
    public long WeightBytes => RowBytes * Rows;
    public byte* W { get; }
    public byte* Act { get; }
    public float* Y { get; }

    public void Dispose()
    {
        NativeMemory.AlignedFree(W);
        NativeMemory.AlignedFree(Act);
        NativeMemory.AlignedFree(Y);
    }
}
