// Flash attention, AVX-512: FlashAttention.Grouped with 16-lane loops; an fp16 accumulator is rounded to fp16 after
// every update (Fp16Vector.RoundToHalfSmall, or RoundToHalf outside its range), so it holds what the spec's fp16
// bits hold.
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
        /// <summary>Accumulate with the accumulators held in registers across the chunk's positions, two heads at a
        /// time (independent dependency chains, one load of each value vector) and 64 lanes (four zmm a head) at a
        /// time, then 16 and the scalar rest; each lane sees the spec's operations in order. An fp16 accumulator is
        /// rounded by Fp16Vector.RoundToHalfSmall, no branch per update; when any update of a pass reached 32768 in
        /// magnitude (or inf/NaN), nothing is stored and the pass runs again with RoundToHalf.</summary>
        public static void Accumulate(float* acc, int n, float* values, long stride, int count, float* e, byte* newMax, bool f16, int heads)
        {
            int h = 0;
            for (; h + 2 <= heads; h += 2) Heads<TwoActs>(acc + h * n, n, values, stride, count, e + h * Chunk, newMax + h * Chunk, f16);
            if (h < heads) Heads<OneAct>(acc + h * n, n, values, stride, count, e + h * Chunk, newMax + h * Chunk, f16);
        }

        private static void Heads<THeads>(float* acc, int n, float* values, long stride, int count, float* e, byte* newMax, bool f16)
            where THeads : struct, IActRows
        {
            int i = 0;
            for (; i + 64 <= n; i += 64)
            {
                if (!f16) Lanes64<NoRounding, THeads>(acc + i, n, values + i, stride, count, e, newMax);
                else if (!Lanes64<SmallRounding, THeads>(acc + i, n, values + i, stride, count, e, newMax)) Lanes64<FullRounding, THeads>(acc + i, n, values + i, stride, count, e, newMax);
            }
            for (; i + 16 <= n; i += 16)
            {
                if (!f16) Lanes16<NoRounding, THeads>(acc + i, n, values + i, stride, count, e, newMax);
                else if (!Lanes16<SmallRounding, THeads>(acc + i, n, values + i, stride, count, e, newMax)) Lanes16<FullRounding, THeads>(acc + i, n, values + i, stride, count, e, newMax);
            }
            if (i < n)
            {
                for (int g = 0; g < THeads.Count; g++)
                    AccumulateRows<Avx512Lanes>(acc + g * n + i, n - i, values + i, stride, count, e + g * Chunk, newMax + g * Chunk, f16);
            }
        }

        /// <summary>Accumulate for lanes [0, 64) of THeads heads (the second's accumulator hd floats on, its exps and
        /// flags Chunk on) in four registers a head; false (nothing stored) when TRound's range was left.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool Lanes64<TRound, THeads>(float* acc, int hd, float* v, long stride, int count, float* e, byte* newMax)
            where TRound : struct, IRounding where THeads : struct, IActRows
        {
            float* acc2 = acc + hd;
            var a0 = Vector512.Load(acc);
            var a1 = Vector512.Load(acc + 16);
            var a2 = Vector512.Load(acc + 32);
            var a3 = Vector512.Load(acc + 48);
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            if (THeads.Count > 1)
            {
                b0 = Vector512.Load(acc2);
                b1 = Vector512.Load(acc2 + 16);
                b2 = Vector512.Load(acc2 + 32);
                b3 = Vector512.Load(acc2 + 48);
            }
            var peak = Vector512<int>.Zero;
            for (int t = 0; t < count; t++, v += stride)
            {
                var va = Vector512.Create(e[t]);
                if (newMax[t] != 0)
                {
                    a0 = Round<TRound>(a0 * va, ref peak);
                    a1 = Round<TRound>(a1 * va, ref peak);
                    a2 = Round<TRound>(a2 * va, ref peak);
                    a3 = Round<TRound>(a3 * va, ref peak);
                    va = Vector512<float>.One;
                }
                var v0 = Vector512.Load(v);
                var v1 = Vector512.Load(v + 16);
                var v2 = Vector512.Load(v + 32);
                var v3 = Vector512.Load(v + 48);
                a0 = Round<TRound>(Avx512F.FusedMultiplyAdd(v0, va, a0), ref peak);
                a1 = Round<TRound>(Avx512F.FusedMultiplyAdd(v1, va, a1), ref peak);
                a2 = Round<TRound>(Avx512F.FusedMultiplyAdd(v2, va, a2), ref peak);
                a3 = Round<TRound>(Avx512F.FusedMultiplyAdd(v3, va, a3), ref peak);
                if (THeads.Count > 1)
                {
                    var vb = Vector512.Create(e[Chunk + t]);
                    if (newMax[Chunk + t] != 0)
                    {
                        b0 = Round<TRound>(b0 * vb, ref peak);
                        b1 = Round<TRound>(b1 * vb, ref peak);
                        b2 = Round<TRound>(b2 * vb, ref peak);
                        b3 = Round<TRound>(b3 * vb, ref peak);
                        vb = Vector512<float>.One;
                    }
                    b0 = Round<TRound>(Avx512F.FusedMultiplyAdd(v0, vb, b0), ref peak);
                    b1 = Round<TRound>(Avx512F.FusedMultiplyAdd(v1, vb, b1), ref peak);
                    b2 = Round<TRound>(Avx512F.FusedMultiplyAdd(v2, vb, b2), ref peak);
                    b3 = Round<TRound>(Avx512F.FusedMultiplyAdd(v3, vb, b3), ref peak);
                }
            }
            if (TRound.Tracks && Vector512.GreaterThanOrEqualAny(peak, Vector512.Create(Fp16Vector.Below32768Limit))) return false;
            a0.Store(acc);
            a1.Store(acc + 16);
            a2.Store(acc + 32);
            a3.Store(acc + 48);
            if (THeads.Count > 1)
            {
                b0.Store(acc2);
                b1.Store(acc2 + 16);
                b2.Store(acc2 + 32);
                b3.Store(acc2 + 48);
            }
            return true;
        }

        /// <summary>Lanes64 for lanes [0, 16), one register a head.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool Lanes16<TRound, THeads>(float* acc, int hd, float* v, long stride, int count, float* e, byte* newMax)
            where TRound : struct, IRounding where THeads : struct, IActRows
        {
            float* acc2 = acc + hd;
            var a0 = Vector512.Load(acc);
            var b0 = THeads.Count > 1 ? Vector512.Load(acc2) : default;
            var peak = Vector512<int>.Zero;
            for (int t = 0; t < count; t++, v += stride)
            {
                var va = Vector512.Create(e[t]);
                if (newMax[t] != 0)
                {
                    a0 = Round<TRound>(a0 * va, ref peak);
                    va = Vector512<float>.One;
                }
                var v0 = Vector512.Load(v);
                a0 = Round<TRound>(Avx512F.FusedMultiplyAdd(v0, va, a0), ref peak);
                if (THeads.Count > 1)
                {
                    var vb = Vector512.Create(e[Chunk + t]);
                    if (newMax[Chunk + t] != 0)
                    {
                        b0 = Round<TRound>(b0 * vb, ref peak);
                        vb = Vector512<float>.One;
                    }
                    b0 = Round<TRound>(Avx512F.FusedMultiplyAdd(v0, vb, b0), ref peak);
                }
            }
            if (TRound.Tracks && Vector512.GreaterThanOrEqualAny(peak, Vector512.Create(Fp16Vector.Below32768Limit))) return false;
            a0.Store(acc);
            if (THeads.Count > 1) b0.Store(acc2);
            return true;
        }

        /// <summary>x as TRound leaves it; a tracking rounding folds x's exponent bits into peak.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Round<TRound>(Vector512<float> x, ref Vector512<int> peak) where TRound : struct, IRounding
        {
            if (!TRound.Tracks) return TRound.Round(x, default);
            var ex = x.AsInt32() & Vector512.Create(Fp16Vector.ExponentBits);
            peak = Vector512.Max(peak, ex);
            return TRound.Round(x, ex);
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

    /// <summary>How Accumulate rounds an updated accumulator: not at all (fp32 cache), RoundToHalfSmall (tracking the
    /// exponents so the caller can tell when a lane left its range) or RoundToHalf.</summary>
    private interface IRounding
    {
        static abstract bool Tracks { get; }
        static abstract Vector512<float> Round(Vector512<float> x, Vector512<int> exponentBits);
    }

    private readonly struct NoRounding : IRounding
    {
        public static bool Tracks => false;
        public static Vector512<float> Round(Vector512<float> x, Vector512<int> exponentBits) => x;
    }

    private readonly struct SmallRounding : IRounding
    {
        public static bool Tracks => true;
        public static Vector512<float> Round(Vector512<float> x, Vector512<int> exponentBits) => Fp16Vector.RoundToHalfSmall(x, exponentBits);
    }

    private readonly struct FullRounding : IRounding
    {
        public static bool Tracks => false;
        public static Vector512<float> Round(Vector512<float> x, Vector512<int> exponentBits) => Fp16Vector.RoundToHalf(x);
    }
}
