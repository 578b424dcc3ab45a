// RMSNorm, AVX2: Norm.Avx512.cs with 8-lane vectors; bit-exact with Reference (the fp64 sum stays one chain, see there).
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class RmsNorm
{
    public static void Avx2(float* x, float* w, float* y, int n, float eps)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) { Reference(x, w, y, n, eps); return; }
        double sum = 0;
        double* sq = stackalloc double[8];
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var v = Vector256.Load(x + i);
            var s = v * v;
            Avx.ConvertToVector256Double(s.GetLower()).Store(sq);
            Avx.ConvertToVector256Double(s.GetUpper()).Store(sq + 4);
            for (int k = 0; k < 8; k++) sum += sq[k];
        }
        for (; i < n; i++) sum += (double)(x[i] * x[i]);
        float scale = 1f / MathF.Sqrt((float)(sum / n) + eps);

        var vs = Vector256.Create(scale);
        for (i = 0; i + 8 <= n; i += 8) (Vector256.Load(x + i) * vs * Vector256.Load(w + i)).Store(y + i);
        for (; i < n; i++) y[i] = x[i] * scale * w[i];
    }
}
