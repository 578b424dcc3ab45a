// Flash attention, AVX2: FlashAttention.Avx512.cs with 8-lane loops.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class FlashAttention
{
    public static void Avx2(AttentionArgs* p)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !Fma.IsSupported) { Reference(p); return; }
        Grouped<Avx2Lanes>(p);
    }

    private readonly struct Avx2Lanes : IAttentionLanes
    {
        public static void Accumulate(float* acc, int n, float* values, long stride, int count, float* e, byte* newMax, bool f16, int heads) =>
            AccumulateRows<Avx2Lanes>(acc, n, n, values, stride, count, e, newMax, f16, heads);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Dot(float* x, float* y, int n) => DotF32F32.Avx2((byte*)x, (byte*)y, n);

        public static void Scores(float* keys, long stride, float* q, int hd, int count, float scale, float* s) =>
            ScoreRows<Avx2Lanes>(keys, stride, q, hd, count, scale, s);

        public static float Scan(float* a, byte* newMax, int count, float m) => ScanRows(a, newMax, count, m);

        public static void Exp(float* x, float* y, int n)
        {
            for (int i = 0; i < n; i++) y[i] = MathF.Exp(x[i]);
        }

        public static void Widen(byte* rows, long rowBytes, float* f, int count, int n)
        {
            for (int r = 0; r < count; r++, rows += rowBytes, f += n) Dequantize.F16Avx2(rows, f, n);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Scale(float* acc, int n, float ms, bool f16)
        {
            var vm = Vector256.Create(ms);
            int i = 0;
            if (f16)
            {
                for (; i + 8 <= n; i += 8) Fp16Vector.RoundToHalf(Vector256.Load(acc + i) * vm).Store(acc + i);
                for (; i < n; i++) acc[i] = Fp16.Round(acc[i] * ms);
            }
            else
            {
                for (; i + 8 <= n; i += 8) (Vector256.Load(acc + i) * vm).Store(acc + i);
                for (; i < n; i++) acc[i] *= ms;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Mad(float* acc, float* v, int n, float vs, bool f16)
        {
            var vv = Vector256.Create(vs);
            int i = 0;
            if (f16)
            {
                for (; i + 8 <= n; i += 8) Fp16Vector.RoundToHalf(Fma.MultiplyAdd(Vector256.Load(v + i), vv, Vector256.Load(acc + i))).Store(acc + i);
                for (; i < n; i++) acc[i] = Fp16.Round(MathF.FusedMultiplyAdd(v[i], vs, acc[i]));
            }
            else
            {
                for (; i + 8 <= n; i += 8) Fma.MultiplyAdd(Vector256.Load(v + i), vv, Vector256.Load(acc + i)).Store(acc + i);
                for (; i < n; i++) acc[i] = MathF.FusedMultiplyAdd(v[i], vs, acc[i]);
            }
        }
    }
}
