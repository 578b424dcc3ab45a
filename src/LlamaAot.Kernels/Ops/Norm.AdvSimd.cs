// RMSNorm, AdvSimd (NEON): Norm.Vector128.cs with the AdvSimd intrinsics; bit-exact with Reference (the fp64 sum
// stays one chain, see Norm.Avx512.cs). Not run by the x64 tests.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class RmsNorm
{
    public static void Neon(float* x, float* w, float* y, int n, float eps)
    {
        if (!AdvSimd.Arm64.IsSupported) { Reference(x, w, y, n, eps); return; }
        double sum = 0;
        double* sq = stackalloc double[4];
        int i = 0;
        for (; i + 4 <= n; i += 4)
        {
            var v = AdvSimd.LoadVector128(x + i);
            var s = AdvSimd.Multiply(v, v);
            AdvSimd.Store(sq, AdvSimd.Arm64.ConvertToDouble(s.GetLower()));
            AdvSimd.Store(sq + 2, AdvSimd.Arm64.ConvertToDoubleUpper(s));
            sum += sq[0];
            sum += sq[1];
            sum += sq[2];
            sum += sq[3];
        }
        for (; i < n; i++) sum += (double)(x[i] * x[i]);
        float scale = 1f / MathF.Sqrt((float)(sum / n) + eps);

        var vs = Vector128.Create(scale);
        for (i = 0; i + 4 <= n; i += 4)
        {
            AdvSimd.Store(y + i, AdvSimd.Multiply(AdvSimd.Multiply(AdvSimd.LoadVector128(x + i), vs), AdvSimd.LoadVector128(w + i)));
        }
        for (; i < n; i++) y[i] = x[i] * scale * w[i];
    }
}
