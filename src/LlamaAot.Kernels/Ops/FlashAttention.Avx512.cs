// Flash attention, AVX-512: FlashAttention.Grouped with 16-lane loops; an fp16 accumulator is rounded to fp16 after
// every update (Fp16Vector.RoundToHalfSmall, or RoundToHalf outside its range; vcvtps2ph and vcvtph2ps in the
// emitted kernel, Jit/HalfAccumulate.cs), so it holds what the spec's fp16 bits hold.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class FlashAttention
{
    /// <summary>Grouped with the AVX-512 lanes; an fp16 accumulator's updates in emitted code (Jit/HalfAccumulate.cs)
    /// where it is in place.</summary>
    public static void Avx512(AttentionArgs* p)
    {
        if (!Avx512F.IsSupported) { Reference(p); return; }
        if (HalfAccumulate.Available) Grouped<Avx512EmittedLanes>(p);
        else Grouped<Avx512Lanes>(p);
    }

    /// <summary>Grouped with the AVX-512 intrinsic lanes only (what Avx512 runs without the emitted code).</summary>
    public static void Avx512Intrinsic(AttentionArgs* p)
    {
        if (!Avx512F.IsSupported) { Reference(p); return; }
        Grouped<Avx512Lanes>(p);
    }

    /// <summary>Avx512Lanes, but an fp16 accumulator's whole 64-lane blocks are updated by the emitted kernel, up to
    /// four heads a call; the lanes past them (head sizes that are not a multiple of 64) by the intrinsic lanes.</summary>
    private readonly struct Avx512EmittedLanes : IAttentionLanes
    {
        public static void Accumulate(float* acc, int n, float* values, long stride, int count, float* e, byte* newMax, bool f16, int heads)
        {
            int blocks = f16 ? n / HalfAccumulate.Lanes * HalfAccumulate.Lanes : 0;
            var args = new HalfAccumulateArgs { HeadBytes = (long)n * sizeof(float), StrideBytes = stride * sizeof(float), Count = count };
            for (int h = 0; h < heads; h += HalfAccumulate.MaxHeads)
            {
                int k = Math.Min(HalfAccumulate.MaxHeads, heads - h);
                args.Exps = e + h * Chunk;
                args.NewMax = newMax + h * Chunk;
                for (int i = 0; i < blocks; i += HalfAccumulate.Lanes)
                {
                    args.Acc = acc + (long)h * n + i;
                    args.Values = values + i;
                    HalfAccumulate.Run(&args, k);
                }
            }
            if (blocks < n) Avx512Lanes.Accumulate(acc, n, blocks, values, stride, count, e, newMax, f16, heads);
        }

        public static float Dot(float* x, float* y, int n) => Avx512Lanes.Dot(x, y, n);
        public static void Scores(float* keys, long stride, float* q, int hd, int count, float scale, float* s) => Avx512Lanes.Scores(keys, stride, q, hd, count, scale, s);
        public static float Scan(float* a, byte* newMax, int count, float m) => Avx512Lanes.Scan(a, newMax, count, m);
        public static void Exp(float* x, float* y, int n) => Avx512Lanes.Exp(x, y, n);
        /// <summary>Avx512Lanes.Widen through the emitted vcvtph2ps kernel where rows are whole vectors.</summary>
        public static void Widen(byte* rows, long rowBytes, float* f, int count, int n)
        {
            var args = new HalfWidenArgs
            {
                Src = rows, SrcBytes = rowBytes, Dst = f, DstBytes = (long)n * sizeof(float), Rows = count, Vectors = n / 16,
            };
            if (count < 1 || n % 16 != 0 || n == 0 || !HalfAccumulate.Widen(&args)) Avx512Lanes.Widen(rows, rowBytes, f, count, n);
        }
        public static void Scale(float* acc, int n, float ms, bool f16) => Avx512Lanes.Scale(acc, n, ms, f16);
        public static void Mad(float* acc, float* v, int n, float vs, bool f16) => Avx512Lanes.Mad(acc, v, n, vs, f16);
    }

    private readonly struct Avx512Lanes : IAttentionLanes
    {
        /// <summary>Accumulate with the accumulators held in registers across the chunk's positions, two heads at a
        /// time (independent dependency chains, one load of each value vector) and 64 lanes (four zmm a head) at a
        /// time, then 16 and the scalar rest; each lane sees the spec's operations in order. An fp16 accumulator is
        /// rounded by Fp16Vector.RoundToHalfSmall, no branch per update; when any update of a pass reached 32768 in
        /// magnitude (or inf/NaN), nothing is stored and the pass runs again with RoundToHalf.</summary>
        public static void Accumulate(float* acc, int n, float* values, long stride, int count, float* e, byte* newMax, bool f16, int heads) =>
            Accumulate(acc, n, 0, values, stride, count, e, newMax, f16, heads);

        /// <summary>Accumulate for lanes [from, n) only.</summary>
        public static void Accumulate(float* acc, int n, int from, float* values, long stride, int count, float* e, byte* newMax, bool f16, int heads)
        {
            int h = 0;
            for (; h + 2 <= heads; h += 2) Heads<TwoActs>(acc + h * n, n, from, values, stride, count, e + h * Chunk, newMax + h * Chunk, f16);
            if (h < heads) Heads<OneAct>(acc + h * n, n, from, values, stride, count, e + h * Chunk, newMax + h * Chunk, f16);
        }

        /// <summary>Accumulate for THeads.Count (one or two) heads from lane <paramref name="from"/>, 64 lanes (four
        /// zmm a head) at a time, then 16, then the scalar rest; the kernels' count types (IActRows) serve as the head
        /// and register counts.</summary>
        private static void Heads<THeads>(float* acc, int n, int from, float* values, long stride, int count, float* e, byte* newMax, bool f16)
            where THeads : struct, IActRows
        {
            int i = from;
            for (; i + 64 <= n; i += 64) Pass<THeads, FourActs>(acc + i, n, values + i, stride, count, e, newMax, f16);
            for (; i + 16 <= n; i += 16) Pass<THeads, OneAct>(acc + i, n, values + i, stride, count, e, newMax, f16);
            if (i < n) AccumulateRows<Avx512Lanes>(acc + i, n - i, n, values + i, stride, count, e, newMax, f16, THeads.Count);
        }

        /// <summary>One pass over lanes [0, 16·TRegs.Count) of the heads: unrounded for an fp32 cache; for fp16 with
        /// RoundToHalfSmall, again with RoundToHalf if that pass left its range.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Pass<THeads, TRegs>(float* acc, int hd, float* v, long stride, int count, float* e, byte* newMax, bool f16)
            where THeads : struct, IActRows where TRegs : struct, IActRows
        {
            if (!f16) Lanes<NoRounding, THeads, TRegs>(acc, hd, v, stride, count, e, newMax);
            else if (!Lanes<SmallRounding, THeads, TRegs>(acc, hd, v, stride, count, e, newMax)) Lanes<FullRounding, THeads, TRegs>(acc, hd, v, stride, count, e, newMax);
        }

        /// <summary>Accumulate for lanes [0, 16·TRegs.Count) of THeads heads (the second's accumulator hd floats on,
        /// its exps and flags Chunk on), TRegs registers a head; false (nothing stored) when TRound's range was
        /// left.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool Lanes<TRound, THeads, TRegs>(float* acc, int hd, float* v, long stride, int count, float* e, byte* newMax)
            where TRound : struct, IRounding where THeads : struct, IActRows where TRegs : struct, IActRows
        {
            float* acc2 = acc + hd;
            Vector512<float> a0 = Vector512.Load(acc), a1 = default, a2 = default, a3 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            Vector512<float> v1 = default, v2 = default, v3 = default;
            if (TRegs.Count > 1) { a1 = Vector512.Load(acc + 16); a2 = Vector512.Load(acc + 32); a3 = Vector512.Load(acc + 48); }
            if (THeads.Count > 1)
            {
                b0 = Vector512.Load(acc2);
                if (TRegs.Count > 1) { b1 = Vector512.Load(acc2 + 16); b2 = Vector512.Load(acc2 + 32); b3 = Vector512.Load(acc2 + 48); }
            }
            var peak = Vector512<int>.Zero;
            for (int t = 0; t < count; t++, v += stride)
            {
                var v0 = Vector512.Load(v);
                if (TRegs.Count > 1) { v1 = Vector512.Load(v + 16); v2 = Vector512.Load(v + 32); v3 = Vector512.Load(v + 48); }
                Update<TRound, TRegs>(ref a0, ref a1, ref a2, ref a3, v0, v1, v2, v3, e[t], newMax[t], ref peak);
                if (THeads.Count > 1) Update<TRound, TRegs>(ref b0, ref b1, ref b2, ref b3, v0, v1, v2, v3, e[Chunk + t], newMax[Chunk + t], ref peak);
            }
            if (TRound.Tracks && Vector512.GreaterThanOrEqualAny(peak, Vector512.Create(Fp16Vector.Below32768Limit))) return false;
            a0.Store(acc);
            if (TRegs.Count > 1) { a1.Store(acc + 16); a2.Store(acc + 32); a3.Store(acc + 48); }
            if (THeads.Count > 1)
            {
                b0.Store(acc2);
                if (TRegs.Count > 1) { b1.Store(acc2 + 16); b2.Store(acc2 + 32); b3.Store(acc2 + 48); }
            }
            return true;
        }

        /// <summary>One position's update of one head's registers: on a new maximum acc = acc·e, then acc = fma(v, 1,
        /// acc); otherwise acc = fma(v, e, acc); each through TRound.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Update<TRound, TRegs>(ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3,
            Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3, float e, byte newMax, ref Vector512<int> peak)
            where TRound : struct, IRounding where TRegs : struct, IActRows
        {
            var vs = Vector512.Create(e);
            if (newMax != 0)
            {
                a0 = Round<TRound>(a0 * vs, ref peak);
                if (TRegs.Count > 1)
                {
                    a1 = Round<TRound>(a1 * vs, ref peak);
                    a2 = Round<TRound>(a2 * vs, ref peak);
                    a3 = Round<TRound>(a3 * vs, ref peak);
                }
                vs = Vector512<float>.One;
            }
            a0 = Round<TRound>(Avx512F.FusedMultiplyAdd(v0, vs, a0), ref peak);
            if (TRegs.Count > 1)
            {
                a1 = Round<TRound>(Avx512F.FusedMultiplyAdd(v1, vs, a1), ref peak);
                a2 = Round<TRound>(Avx512F.FusedMultiplyAdd(v2, vs, a2), ref peak);
                a3 = Round<TRound>(Avx512F.FusedMultiplyAdd(v3, vs, a3), ref peak);
            }
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

        /// <summary>Scores sixteen positions at a time when hd is a multiple of 64: each position's four accumulators
        /// as in DotF32F32.Avx512Zmm, then FloatDotAvx512.Finish's tree run across the sixteen at once — the same
        /// additions on the same pairs ((R0+R2)+(R1+R3); 256-bit halves; 128-bit halves; (t0+t2)+(t1+t3)), with
        /// shuffles between them — so each score is the single dot's bits. At hd = 64 (one step of the dot) the query
        /// stays in four registers, so each position loads only its key.</summary>
        public static void Scores(float* keys, long stride, float* q, int hd, int count, float scale, float* s)
        {
            int t = 0;
            if (hd == FloatDotOrder.Step)
            {
                var query = new RegisterQuery(q);
                for (; t + 16 <= count; t += 16) Sixteen(keys + t * stride, stride, ref query, scale, s + t);
            }
            else if (hd % FloatDotOrder.Step == 0)
            {
                var query = new MemoryQuery(q, hd);
                for (; t + 16 <= count; t += 16) Sixteen(keys + t * stride, stride, ref query, scale, s + t);
            }
            ScoreRows<Avx512Lanes>(keys + t * stride, stride, q, hd, count - t, scale, s + t);
        }

        /// <summary>One position's (R0+R2)+(R1+R3) of DotF32F32.Avx512Zmm against the query.</summary>
        private interface IQueryDot
        {
            Vector512<float> Whole(float* x);
        }

        /// <summary>A query of one dot step (64 floats), held in registers.</summary>
        private readonly struct RegisterQuery(float* q) : IQueryDot
        {
            private readonly Vector512<float> _q0 = Vector512.Load(q), _q1 = Vector512.Load(q + 16), _q2 = Vector512.Load(q + 32), _q3 = Vector512.Load(q + 48);

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Vector512<float> Whole(float* x)
            {
                var r0 = Avx512F.FusedMultiplyAdd(Vector512.Load(x), _q0, Vector512<float>.Zero);
                var r1 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + 16), _q1, Vector512<float>.Zero);
                var r2 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + 32), _q2, Vector512<float>.Zero);
                var r3 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + 48), _q3, Vector512<float>.Zero);
                return (r0 + r2) + (r1 + r3);
            }
        }

        /// <summary>A query of any multiple of 64 floats, read from memory at every step.</summary>
        private readonly struct MemoryQuery(float* q, int hd) : IQueryDot
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Vector512<float> Whole(float* x)
            {
                Vector512<float> r0 = default, r1 = default, r2 = default, r3 = default;
                for (int i = 0; i < hd; i += FloatDotOrder.Step)
                {
                    r0 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(q + i), r0);
                    r1 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i + 16), Vector512.Load(q + i + 16), r1);
                    r2 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i + 32), Vector512.Load(q + i + 32), r2);
                    r3 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i + 48), Vector512.Load(q + i + 48), r3);
                }
                return (r0 + r2) + (r1 + r3);
            }
        }

        /// <summary>s[j] = dot(k + j·stride, q)·scale for j &lt; 16.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Sixteen<TQuery>(float* k, long stride, ref TQuery query, float scale, float* s) where TQuery : struct, IQueryDot
        {
            var y0 = Quad(k, stride, ref query);
            var y1 = Quad(k + 4 * stride, stride, ref query);
            var y2 = Quad(k + 8 * stride, stride, ref query);
            var y3 = Quad(k + 12 * stride, stride, ref query);
            // Within each 128-bit quarter: (t0 + t2) + (t1 + t3) for the four y's, lane m of quarter k = y[m]'s.
            var a = Avx512F.UnpackLow(y0, y1) + Avx512F.UnpackHigh(y0, y1);   // (u0, u1, v0, v1), u = t0+t2, v = t1+t3
            var b = Avx512F.UnpackLow(y2, y3) + Avx512F.UnpackHigh(y2, y3);   // (u2, u3, v2, v3)
            var z = Avx512F.Shuffle(a, b, 0b01_00_01_00) + Avx512F.Shuffle(a, b, 0b11_10_11_10);
            // Lane 4j + m of z holds position 4m + j; the permutation puts position j in lane j.
            var order = Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
            (Avx512F.PermuteVar16x32(z, order) * Vector512.Create(scale)).Store(s);

            // Positions 0..3 from x: the 256-bit step pairs them, the 128-bit step leaves quarter j = position j.
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            static Vector512<float> Quad(float* x, long stride, ref TQuery query)
            {
                var x01 = Pairs(query.Whole(x), query.Whole(x + stride));
                var x23 = Pairs(query.Whole(x + 2 * stride), query.Whole(x + 3 * stride));
                return Avx512F.Shuffle4x128(x01, x23, 0b10_00_10_00) + Avx512F.Shuffle4x128(x01, x23, 0b11_01_11_01);
            }

            // The 256-bit step of two positions: lanes 0-7 a's (lo + hi), lanes 8-15 b's.
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            static Vector512<float> Pairs(Vector512<float> a, Vector512<float> b) =>
                Avx512F.Shuffle4x128(a, b, 0b01_00_01_00) + Avx512F.Shuffle4x128(a, b, 0b11_10_11_10);
        }

        /// <summary>Sixteen positions at a time: the running maximum at every lane is a prefix scan (four shifted
        /// steps) of the spec's step M = s &gt; M ? s : M, which keeps the earlier value on ties and never takes a NaN
        /// (scanned as −∞, which it never takes either), so the scan gives the scalar loop's M at every position; the
        /// maximum before position t (the previous lane, or the carried M for lane 0) decides new maximum and
        /// argument as in the spec. The rest one at a time.</summary>
        public static float Scan(float* a, byte* newMax, int count, float m)
        {
            int t = 0;
            var ninf = Vector512.Create(float.NegativeInfinity).AsInt32();
            for (; t + 16 <= count; t += 16)
            {
                var s = Vector512.Load(a + t);
                var carry = Vector512.Create(m);
                var p = Vector512.ConditionalSelect(Vector512.Equals(s, s), s, ninf.AsSingle()).AsInt32();
                p = Step(Avx512F.AlignRight32(p, ninf, 15), p);
                p = Step(Avx512F.AlignRight32(p, ninf, 14), p);
                p = Step(Avx512F.AlignRight32(p, ninf, 12), p);
                p = Step(Avx512F.AlignRight32(p, ninf, 8), p);
                p = Step(carry.AsInt32(), p);
                var before = Avx512F.AlignRight32(p, carry.AsInt32(), 15).AsSingle();
                var fresh = Vector512.GreaterThan(s, before);
                Vector512.ConditionalSelect(fresh, before - s, s - before).Store(a + t);
                Avx512F.ConvertToVector128Byte(fresh.AsInt32() & Vector512<int>.One).Store(newMax + t);
                m = p.AsSingle().GetElement(15);
            }
            return ScanRows(a + t, newMax + t, count - t, m);

            // The spec's step with x before y: y if y > x, else x.
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            static Vector512<int> Step(Vector512<int> x, Vector512<int> y) =>
                Vector512.ConditionalSelect(Vector512.GreaterThan(y.AsSingle(), x.AsSingle()), y.AsSingle(), x.AsSingle()).AsInt32();
        }

        public static void Exp(float* x, float* y, int n) => ExpLibm.Avx512(x, y, n);

        public static void Widen(byte* rows, long rowBytes, float* f, int count, int n)
        {
            for (int r = 0; r < count; r++, rows += rowBytes, f += n) Dequantize.F16Avx512(rows, f, n);
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
