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
            case GgmlType.Q4_0 or GgmlType.Q8_0:
                // Random bytes are valid quants; only the fp16 scale at the start of each block needs a sane value.
                for (long off = 0; off < bytes; off += blockBytes) *(ushort*)(W + off) = Fp16.FromFloat((float)(rng.NextDouble() * 0.01 + 0.001));
                break;
            case GgmlType.F16:
                for (long i = 0; i < bytes / 2; i++) ((ushort*)W)[i] = Fp16.FromFloat((float)(rng.NextDouble() * 2 - 1));
                break;
            case GgmlType.F32:
                for (long i = 0; i < bytes / 4; i++) ((float*)W)[i] = (float)(rng.NextDouble() * 2 - 1);
                break;
        }
    }

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
