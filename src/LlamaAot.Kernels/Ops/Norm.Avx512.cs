// RMSNorm, AVX-512. Bit-exact with Reference, on purpose: the fp64 sum of squares stays one sequential chain in
// Reference's order (ggml's rms_norm is a scalar loop, so that chain is llama.cpp's arithmetic). Lane-wise double
// sums would change the last bit of `scale` now and then, i.e. every output of that row. The chain costs ~3 cycles
// per element (the add latency; squaring and widening ride along in 16-lane vectors), a few µs per 4096-wide row —
// noise next to any matrix product. The second pass, y = (x·scale)·w, is fully vectorised.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class RmsNorm
{
    public static void Avx512(float* x, float* w, float* y, int n, float eps)
    {
        if (!Avx512F.IsSupported) { Reference(x, w, y, n, eps); return; }
        double sum = 0;
        double* sq = stackalloc double[16];
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var v = Vector512.Load(x + i);
            var s = v * v;                                             // fp32 squares, as Reference
            Avx512F.ConvertToVector512Double(s.GetLower()).Store(sq);
            Avx512F.ConvertToVector512Double(s.GetUpper()).Store(sq + 8);
            for (int k = 0; k < 16; k++) sum += sq[k];                  // fp64, in element order
        }
        for (; i < n; i++) sum += (double)(x[i] * x[i]);
        float scale = 1f / MathF.Sqrt((float)(sum / n) + eps);

        var vs = Vector512.Create(scale);
        for (i = 0; i + 16 <= n; i += 16) (Vector512.Load(x + i) * vs * Vector512.Load(w + i)).Store(y + i);
        for (; i < n; i++) y[i] = x[i] * scale * w[i];
    }
}
