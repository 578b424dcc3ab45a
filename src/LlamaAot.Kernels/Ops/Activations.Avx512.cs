// AVX-512 element-wise ops. SiluMul and Add are bit-exact with Reference (ExpFVector.Avx512 is ExpF.Ggml lane for
// lane; IEEE add, divide and multiply round the same in any lane). Softmax uses the same vector exp where Reference
// calls MathF.Exp, and sums in eight double lanes instead of one chain: close to Reference, not equal
// (KernelTolerances.SoftmaxNmse).
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class SiluMul
{
    public static void Avx512(float* gate, float* up, int n)
    {
        if (!Avx512F.IsSupported) { Reference(gate, up, n); return; }
        int whole = n & ~15;
        for (int i = 0; i < whole; i += 16)
        {
            var g = Vector512.Load(gate + i);
            var e = ExpFVector.Avx512(Vector512<float>.Zero - g);
            (g / (Vector512<float>.One + e) * Vector512.Load(up + i)).Store(gate + i);
        }
        LibmTail(gate, up, whole, n);
    }
}

public static unsafe partial class Add
{
    public static void Avx512(float* x, float* y, int n)
    {
        if (!Avx512F.IsSupported) { Reference(x, y, n); return; }
        int i = 0;
        for (; i + 32 <= n; i += 32)
        {
            (Vector512.Load(x + i) + Vector512.Load(y + i)).Store(x + i);
            (Vector512.Load(x + i + 16) + Vector512.Load(y + i + 16)).Store(x + i + 16);
        }
        for (; i + 16 <= n; i += 16) (Vector512.Load(x + i) + Vector512.Load(y + i)).Store(x + i);
        for (; i < n; i++) x[i] += y[i];
    }
}

public static unsafe partial class Softmax
{
    public static void Avx512(float* x, int n)
    {
        if (!Avx512F.IsSupported) { Reference(x, n); return; }
        // The maximum is exact in any order. vmaxps may pass over a NaN, but a NaN input then makes its own exp, the
        // sum and so every output NaN, as Reference's NaN maximum does.
        float max = float.NegativeInfinity;
        int i = 0;
        if (n >= 16)
        {
            var vmax = Vector512.Load(x);
            for (i = 16; i + 16 <= n; i += 16) vmax = Avx512F.Max(vmax, Vector512.Load(x + i));
            var m8 = Avx.Max(vmax.GetLower(), vmax.GetUpper());
            var m4 = Sse.Max(m8.GetLower(), m8.GetUpper());
            max = MathF.Max(MathF.Max(m4[0], m4[1]), MathF.Max(m4[2], m4[3]));
        }
        for (; i < n; i++) max = MathF.Max(max, x[i]);

        var vm = Vector512.Create(max);
        Vector512<double> s0 = default, s1 = default;
        int whole = n & ~15;
        for (i = 0; i < whole; i += 16)
        {
            var e = ExpFVector.Avx512(Vector512.Load(x + i) - vm);
            e.Store(x + i);
            s0 += Avx512F.ConvertToVector512Double(e.GetLower());
            s1 += Avx512F.ConvertToVector512Double(e.GetUpper());
        }
        double sum = Vector512.Sum(s0 + s1);
        for (i = whole; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }

        float inv = (float)(1.0 / sum);
        var vi = Vector512.Create(inv);
        for (i = 0; i < whole; i += 16) (Vector512.Load(x + i) * vi).Store(x + i);
        for (i = whole; i < n; i++) x[i] *= inv;
    }
}
