// AdvSimd (NEON) element-wise ops: the Vector128 layout (Activations.Vector128.cs) with the exp's fmas written as
// AdvSimd intrinsics (ExpFVector.Neon). SiluMul and Add are bit-exact with Reference; Softmax is within
// KernelTolerances.SoftmaxNmse. Not run by the x64 tests (IsSupported is false there).
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class SiluMul
{
    public static void Neon(float* gate, float* up, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) { Reference(gate, up, n); return; }
        int whole = n & ~15;
        for (int i = 0; i < whole; i += 4)
        {
            var g = AdvSimd.LoadVector128(gate + i);
            var e = ExpFVector.Neon(Vector128<float>.Zero - g);
            AdvSimd.Store(gate + i, AdvSimd.Multiply(AdvSimd.Arm64.Divide(g, AdvSimd.Add(Vector128<float>.One, e)), AdvSimd.LoadVector128(up + i)));
        }
        LibmTail(gate, up, whole, n);
    }
}

public static unsafe partial class Add
{
    public static void Neon(float* x, float* y, int n)
    {
        if (!AdvSimd.IsSupported) { Reference(x, y, n); return; }
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            AdvSimd.Store(x + i, AdvSimd.Add(AdvSimd.LoadVector128(x + i), AdvSimd.LoadVector128(y + i)));
            AdvSimd.Store(x + i + 4, AdvSimd.Add(AdvSimd.LoadVector128(x + i + 4), AdvSimd.LoadVector128(y + i + 4)));
        }
        for (; i + 4 <= n; i += 4) AdvSimd.Store(x + i, AdvSimd.Add(AdvSimd.LoadVector128(x + i), AdvSimd.LoadVector128(y + i)));
        for (; i < n; i++) x[i] += y[i];
    }
}

public static unsafe partial class Softmax
{
    public static void Neon(float* x, int n)
    {
        if (!AdvSimd.Arm64.IsSupported) { Reference(x, n); return; }
        float max = float.NegativeInfinity;
        int i = 0;
        if (n >= 4)
        {
            var vmax = AdvSimd.LoadVector128(x);
            for (i = 4; i + 4 <= n; i += 4) vmax = AdvSimd.Max(vmax, AdvSimd.LoadVector128(x + i));   // fmax: NaN propagates
            max = AdvSimd.Arm64.MaxAcross(vmax).ToScalar();
        }
        for (; i < n; i++) max = MathF.Max(max, x[i]);

        var vm = Vector128.Create(max);
        Vector128<double> s0 = default, s1 = default;
        int whole = n & ~3;
        for (i = 0; i < whole; i += 4)
        {
            var e = ExpFVector.Neon(AdvSimd.Subtract(AdvSimd.LoadVector128(x + i), vm));
            AdvSimd.Store(x + i, e);
            s0 = AdvSimd.Arm64.Add(s0, AdvSimd.Arm64.ConvertToDouble(e.GetLower()));
            s1 = AdvSimd.Arm64.Add(s1, AdvSimd.Arm64.ConvertToDoubleUpper(e));
        }
        double sum = Vector128.Sum(AdvSimd.Arm64.Add(s0, s1));
        for (i = whole; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }

        float inv = (float)(1.0 / sum);
        var vi = Vector128.Create(inv);
        for (i = 0; i < whole; i += 4) AdvSimd.Store(x + i, AdvSimd.Multiply(AdvSimd.LoadVector128(x + i), vi));
        for (i = whole; i < n; i++) x[i] *= inv;
    }
}
