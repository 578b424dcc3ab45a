// Flash attention, AVX-512: FlashAttention.Grouped with 16-lane loops; an fp16 accumulator is rounded with
// Fp16Vector.RoundToHalf after every update, so it holds what the spec's fp16 bits hold.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class FlashAttention
{
    public static void Avx512(AttentionArgs* p)
    {
        if (!Avx512F.IsSupported) { Reference(p); return; }
        Grouped<Avx512Lanes>(p);
    }

    private readonly struct Avx512Lanes : IAttentionLanes
    {
        /// <summary>Accumulate with the accumulator held in registers across the chunk's positions, 64 lanes (four
        /// zmm) at a time, then 16 and the scalar rest; each lane sees the spec's operations in order.</summary>
        public static void Accumulate(float* acc, int n, float* values, long stride, int count, float* e, byte* newMax, bool f16)
        {
            int i = 0;
            for (; i + 64 <= n; i += 64)
            {
                var a0 = Vector512.Load(acc + i);
                var a1 = Vector512.Load(acc + i + 16);
                var a2 = Vector512.Load(acc + i + 32);
                var a3 = Vector512.Load(acc + i + 48);
                float* v = values + i;
                for (int t = 0; t < count; t++, v += stride)
                {
                    var vs = Vector512.Create(e[t]);
                    if (newMax[t] != 0)
                    {
                        a0 = Round(a0 * vs, f16);
                        a1 = Round(a1 * vs, f16);
                        a2 = Round(a2 * vs, f16);
                        a3 = Round(a3 * vs, f16);
                        vs = Vector512<float>.One;
                    }
                    a0 = Round(Avx512F.FusedMultiplyAdd(Vector512.Load(v), vs, a0), f16);
                    a1 = Round(Avx512F.FusedMultiplyAdd(Vector512.Load(v + 16), vs, a1), f16);
                    a2 = Round(Avx512F.FusedMultiplyAdd(Vector512.Load(v + 32), vs, a2), f16);
                    a3 = Round(Avx512F.FusedMultiplyAdd(Vector512.Load(v + 48), vs, a3), f16);
                }
                a0.Store(acc + i);
                a1.Store(acc + i + 16);
                a2.Store(acc + i + 32);
                a3.Store(acc + i + 48);
            }
            for (; i + 16 <= n; i += 16)
            {
                var a0 = Vector512.Load(acc + i);
                float* v = values + i;
                for (int t = 0; t < count; t++, v += stride)
                {
                    var vs = Vector512.Create(e[t]);
                    if (newMax[t] != 0)
                    {
                        a0 = Round(a0 * vs, f16);
                        vs = Vector512<float>.One;
                    }
                    a0 = Round(Avx512F.FusedMultiplyAdd(Vector512.Load(v), vs, a0), f16);
                }
                a0.Store(acc + i);
            }
            if (i < n) AccumulateRows<Avx512Lanes>(acc + i, n - i, values + i, stride, count, e, newMax, f16);

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            static Vector512<float> Round(Vector512<float> x, bool f16) => f16 ? Fp16Vector.RoundToHalf(x) : x;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Dot(float* x, float* y, int n) => DotF32F32.Avx512Zmm((byte*)x, (byte*)y, n);

        public static void Exp(float* x, float* y, int n) => ExpLibm.Avx512(x, y, n);

        public static void Widen(ushort* h, float* f, int n)
        {
            int i = 0;
            for (; i + 16 <= n; i += 16) Fp16Vector.HalfHiToSingle(Avx512F.ConvertToVector512Int32(Vector256.Load(h + i)) << 16).Store(f + i);
            for (; i < n; i++) f[i] = Fp16.ToFloat(h[i]);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Scale(float* acc, int n, float ms, bool f16)
        {
            var vm = Vector512.Create(ms);
            int i = 0;
            if (f16)
            {
                for (; i + 16 <= n; i += 16) Fp16Vector.RoundToHalf(Vector512.Load(acc + i) * vm).Store(acc + i);
                for (; i < n; i++) acc[i] = Fp16.Round(acc[i] * ms);
            }
            else
            {
                for (; i + 16 <= n; i += 16) (Vector512.Load(acc + i) * vm).Store(acc + i);
                for (; i < n; i++) acc[i] *= ms;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Mad(float* acc, float* v, int n, float vs, bool f16)
        {
            var vv = Vector512.Create(vs);
            int i = 0;
            if (f16)
            {
                for (; i + 16 <= n; i += 16) Fp16Vector.RoundToHalf(Avx512F.FusedMultiplyAdd(Vector512.Load(v + i), vv, Vector512.Load(acc + i))).Store(acc + i);
                for (; i < n; i++) acc[i] = Fp16.Round(MathF.FusedMultiplyAdd(v[i], vs, acc[i]));
            }
            else
            {
                for (; i + 16 <= n; i += 16) Avx512F.FusedMultiplyAdd(Vector512.Load(v + i), vv, Vector512.Load(acc + i)).Store(acc + i);
                for (; i < n; i++) acc[i] = MathF.FusedMultiplyAdd(v[i], vs, acc[i]);
            }
        }
    }
}
