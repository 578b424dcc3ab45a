// RMSNorm, Vector128: Norm.Avx512.cs with 4-lane vectors; bit-exact with Reference (the fp64 sum stays one chain).
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class RmsNorm
{
    public static void V128(float* x, float* w, float* y, int n, float eps)
    {
        if (!Vector128.IsHardwareAccelerated) { Reference(x, w, y, n, eps); return; }
        double sum = 0;
        double* sq = stackalloc double[4];
        int i = 0;
        for (; i + 4 <= n; i += 4)
        {
            var v = Vector128.Load(x + i);
            var s = v * v;
            Vector128.WidenLower(s).Store(sq);
            Vector128.WidenUpper(s).Store(sq + 2);
            sum += sq[0];
            sum += sq[1];
            sum += sq[2];
            sum += sq[3];
        }
        for (; i < n; i++) sum += (double)(x[i] * x[i]);
        float scale = 1f / MathF.Sqrt((float)(sum / n) + eps);

        var vs = Vector128.Create(scale);
        for (i = 0; i + 4 <= n; i += 4) (Vector128.Load(x + i) * vs * Vector128.Load(w + i)).Store(y + i);
        for (; i < n; i++) y[i] = x[i] * scale * w[i];
    }
}
