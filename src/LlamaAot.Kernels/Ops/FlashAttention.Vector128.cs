// Flash attention, Vector128: FlashAttention.Avx512.cs with 4-lane vectors, fp16 rows handled 8 at a time (one 128-bit
// load widened to two float vectors, narrowed back into one store); bit-exact with Reference given the same KeyDot.
// head_dim mod 8 leftovers run the scalar code.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class FlashAttention
{
    public static void V128(AttentionArgs* p)
    {
        if (!Vector128.IsHardwareAccelerated) { Reference(p); return; }
        int hd = p->HeadDim;
        p->QueryToCache(p->Query, p->QueryScratch, hd);
        float m = float.NegativeInfinity, sum = 0;
        ushort* acc16 = (ushort*)p->AccScratch;
        float* acc32 = p->AccScratch;
        if (p->F16) new Span<ushort>(acc16, hd).Clear();
        else new Span<float>(acc32, hd).Clear();

        for (int t = 0; t < p->Positions; t++)
        {
            float s = p->KeyDot(p->Keys + t * p->RowBytes, p->QueryScratch, hd) * p->Scale;
            float ms = 1f, vs = 1f;
            if (s > m)
            {
                float old = m;
                m = s;
                ms = MathF.Exp(old - m);
                if (p->F16) Rescale16V128(acc16, hd, ms);
                else Rescale32V128(acc32, hd, ms);
            }
            else
            {
                vs = MathF.Exp(s - m);
            }

            byte* v = p->Values + t * p->RowBytes;
            if (p->F16) Mad16V128(acc16, (ushort*)v, hd, vs);
            else Mad32V128(acc32, (float*)v, hd, vs);
            sum = sum * ms + vs;
        }

        float inv = sum == 0f ? 0f : 1f / sum;
        var vi = Vector128.Create(inv);
        int i = 0;
        if (p->F16)
        {
            for (; i + 8 <= hd; i += 8)
            {
                var h = Vector128.Load(acc16 + i);
                (LowerHalfV128(h) * vi).Store(p->Output + i);
                (UpperHalfV128(h) * vi).Store(p->Output + i + 4);
            }
            for (; i < hd; i++) p->Output[i] = Fp16.ToFloat(acc16[i]) * inv;
        }
        else
        {
            for (; i + 4 <= hd; i += 4) (Vector128.Load(acc32 + i) * vi).Store(p->Output + i);
            for (; i < hd; i++) p->Output[i] = acc32[i] * inv;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> LowerHalfV128(Vector128<ushort> h) => Fp16Vector.HalfHiToSingle(Vector128.WidenLower(h).AsInt32() << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> UpperHalfV128(Vector128<ushort> h) => Fp16Vector.HalfHiToSingle(Vector128.WidenUpper(h).AsInt32() << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ushort> NarrowHalfV128(Vector128<float> lo, Vector128<float> hi) =>
        Vector128.Narrow(Fp16Vector.SingleToHalf(lo).AsUInt32(), Fp16Vector.SingleToHalf(hi).AsUInt32());

    private static void Rescale16V128(ushort* acc, int hd, float ms)
    {
        var vm = Vector128.Create(ms);
        int i = 0;
        for (; i + 8 <= hd; i += 8)
        {
            var h = Vector128.Load(acc + i);
            NarrowHalfV128(LowerHalfV128(h) * vm, UpperHalfV128(h) * vm).Store(acc + i);
        }
        for (; i < hd; i++) acc[i] = Fp16.FromFloat(Fp16.ToFloat(acc[i]) * ms);
    }

    private static void Rescale32V128(float* acc, int hd, float ms)
    {
        var vm = Vector128.Create(ms);
        int i = 0;
        for (; i + 4 <= hd; i += 4) (Vector128.Load(acc + i) * vm).Store(acc + i);
        for (; i < hd; i++) acc[i] *= ms;
    }

    private static void Mad16V128(ushort* acc, ushort* v, int hd, float vs)
    {
        var vv = Vector128.Create(vs);
        int i = 0;
        for (; i + 8 <= hd; i += 8)
        {
            var a = Vector128.Load(acc + i);
            var x = Vector128.Load(v + i);
            var lo = Vector128.FusedMultiplyAdd(LowerHalfV128(x), vv, LowerHalfV128(a));
            var hi = Vector128.FusedMultiplyAdd(UpperHalfV128(x), vv, UpperHalfV128(a));
            NarrowHalfV128(lo, hi).Store(acc + i);
        }
        for (; i < hd; i++) acc[i] = Fp16.FromFloat(MathF.FusedMultiplyAdd(Fp16.ToFloat(v[i]), vs, Fp16.ToFloat(acc[i])));
    }

    private static void Mad32V128(float* acc, float* v, int hd, float vs)
    {
        var vv = Vector128.Create(vs);
        int i = 0;
        for (; i + 4 <= hd; i += 4) Vector128.FusedMultiplyAdd(Vector128.Load(v + i), vv, Vector128.Load(acc + i)).Store(acc + i);
        for (; i < hd; i++) acc[i] = MathF.FusedMultiplyAdd(v[i], vs, acc[i]);
    }
}
