// AVX2 element-wise ops: as Activations.Avx512.cs with 8-lane vectors (a 16-element SiluMul group is two of them).
// SiluMul and Add are bit-exact with Reference; Softmax is within KernelTolerances.SoftmaxNmse.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class SiluMul
{
    public static void Avx2(float* gate, float* up, int n)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !Fma.IsSupported) { Reference(gate, up, n); return; }
        int whole = n & ~15;
        for (int i = 0; i < whole; i += 8)
        {
            var g = Vector256.Load(gate + i);
            var e = ExpFVector.Avx2(Vector256<float>.Zero - g);
            (g / (Vector256<float>.One + e) * Vector256.Load(up + i)).Store(gate + i);
        }
        LibmTail(gate, up, whole, n);
    }
}

public static unsafe partial class Add
{
    public static void Avx2(float* x, float* y, int n)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) { Reference(x, y, n); return; }
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            (Vector256.Load(x + i) + Vector256.Load(y + i)).Store(x + i);
            (Vector256.Load(x + i + 8) + Vector256.Load(y + i + 8)).Store(x + i + 8);
        }
        for (; i + 8 <= n; i += 8) (Vector256.Load(x + i) + Vector256.Load(y + i)).Store(x + i);
        for (; i < n; i++) x[i] += y[i];
    }
}

public static unsafe partial class Softmax
{
    public static void Avx2(float* x, int n)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !Fma.IsSupported) { Reference(x, n); return; }
        // Maximum: exact in any order; see Activations.Avx512.cs for NaN.
        float max = float.NegativeInfinity;
        int i = 0;
        if (n >= 8)
        {
            var vmax = Vector256.Load(x);
            for (i = 8; i + 8 <= n; i += 8) vmax = Avx.Max(vmax, Vector256.Load(x + i));
            var m4 = Sse.Max(vmax.GetLower(), vmax.GetUpper());
            max = MathF.Max(MathF.Max(m4[0], m4[1]), MathF.Max(m4[2], m4[3]));
        }
        for (; i < n; i++) max = MathF.Max(max, x[i]);

        var vm = Vector256.Create(max);
        Vector256<double> s0 = default, s1 = default;
        int whole = n & ~7;
        for (i = 0; i < whole; i += 8)
        {
            var e = ExpFVector.Avx2(Vector256.Load(x + i) - vm);
            e.Store(x + i);
            s0 += Avx.ConvertToVector256Double(e.GetLower());
            s1 += Avx.ConvertToVector256Double(e.GetUpper());
        }
        double sum = Vector256.Sum(s0 + s1);
        for (i = whole; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }

        float inv = (float)(1.0 / sum);
        var vi = Vector256.Create(inv);
        for (i = 0; i < whole; i += 8) (Vector256.Load(x + i) * vi).Store(x + i);
        for (i = whole; i < n; i++) x[i] *= inv;
    }
}
