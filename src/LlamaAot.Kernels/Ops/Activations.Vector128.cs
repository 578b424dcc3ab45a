// Vector128 element-wise ops: as Activations.Avx512.cs with 4-lane vectors (a 16-element SiluMul group is four).
// SiluMul and Add are bit-exact with Reference; Softmax is within KernelTolerances.SoftmaxNmse.
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class SiluMul
{
    public static void V128(float* gate, float* up, int n)
    {
        if (!Vector128.IsHardwareAccelerated) { Reference(gate, up, n); return; }
        int whole = n & ~15;
        for (int i = 0; i < whole; i += 4)
        {
            var g = Vector128.Load(gate + i);
            var e = ExpFVector.V128(Vector128<float>.Zero - g);
            (g / (Vector128<float>.One + e) * Vector128.Load(up + i)).Store(gate + i);
        }
        LibmTail(gate, up, whole, n);
    }

    /// <summary>Reference's tail, shared by every path: past the last whole 16-element group ggml calls libm's expf.</summary>
    internal static void LibmTail(float* gate, float* up, int start, int n)
    {
        for (int i = start; i < n; i++)
        {
            float g = gate[i];
            gate[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }
}

public static unsafe partial class Add
{
    public static void V128(float* x, float* y, int n)
    {
        if (!Vector128.IsHardwareAccelerated) { Reference(x, y, n); return; }
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            (Vector128.Load(x + i) + Vector128.Load(y + i)).Store(x + i);
            (Vector128.Load(x + i + 4) + Vector128.Load(y + i + 4)).Store(x + i + 4);
        }
        for (; i + 4 <= n; i += 4) (Vector128.Load(x + i) + Vector128.Load(y + i)).Store(x + i);
        for (; i < n; i++) x[i] += y[i];
    }
}

public static unsafe partial class Softmax
{
    public static void V128(float* x, int n)
    {
        if (!Vector128.IsHardwareAccelerated) { Reference(x, n); return; }
        float max = float.NegativeInfinity;
        int i = 0;
        if (n >= 4)
        {
            var vmax = Vector128.Load(x);
            for (i = 4; i + 4 <= n; i += 4) vmax = Vector128.Max(vmax, Vector128.Load(x + i));
            max = MathF.Max(MathF.Max(vmax[0], vmax[1]), MathF.Max(vmax[2], vmax[3]));
        }
        for (; i < n; i++) max = MathF.Max(max, x[i]);

        var vm = Vector128.Create(max);
        Vector128<double> s0 = default, s1 = default;
        int whole = n & ~3;
        for (i = 0; i < whole; i += 4)
        {
            var e = ExpFVector.V128(Vector128.Load(x + i) - vm);
            e.Store(x + i);
            s0 += Vector128.WidenLower(e);
            s1 += Vector128.WidenUpper(e);
        }
        double sum = Vector128.Sum(s0 + s1);
        for (i = whole; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }

        float inv = (float)(1.0 / sum);
        var vi = Vector128.Create(inv);
        for (i = 0; i < whole; i += 4) (Vector128.Load(x + i) * vi).Store(x + i);
        for (i = whole; i < n; i++) x[i] *= inv;
    }
}
