// Flash attention, AVX-512: Reference's algorithm with the per-position work on the accumulator vectorised 16 lanes at
// a time — rescale by ms, acc = fma(v, vs, acc), and for an fp16 cache the fp16 → fp32 → fp16 round trip around each
// update (Fp16Vector, bit-exact with Fp16). Scores come from p->KeyDot and the exps from MathF.Exp exactly as in
// Reference, so given the same KeyDot the output equals Reference bit for bit. head_dim mod 16 leftovers run the
// scalar code.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class FlashAttention
{
    public static void Avx512(AttentionArgs* p)
    {
        if (!Avx512F.IsSupported) { Reference(p); return; }
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
                if (p->F16) Rescale16Avx512(acc16, hd, ms);
                else Rescale32Avx512(acc32, hd, ms);
            }
            else
            {
                vs = MathF.Exp(s - m);
            }

            byte* v = p->Values + t * p->RowBytes;
            if (p->F16) Mad16Avx512(acc16, (ushort*)v, hd, vs);
            else Mad32Avx512(acc32, (float*)v, hd, vs);
            sum = sum * ms + vs;
        }

        float inv = sum == 0f ? 0f : 1f / sum;
        var vi = Vector512.Create(inv);
        int i = 0;
        if (p->F16)
        {
            for (; i + 16 <= hd; i += 16) (LoadHalf16Avx512(acc16 + i) * vi).Store(p->Output + i);
            for (; i < hd; i++) p->Output[i] = Fp16.ToFloat(acc16[i]) * inv;
        }
        else
        {
            for (; i + 16 <= hd; i += 16) (Vector512.Load(acc32 + i) * vi).Store(p->Output + i);
            for (; i < hd; i++) p->Output[i] = acc32[i] * inv;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LoadHalf16Avx512(ushort* h) => Fp16Vector.HalfHiToSingle(Avx512F.ConvertToVector512Int32(Vector256.Load(h)) << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalf16Avx512(ushort* h, Vector512<float> f) => Avx512F.ConvertToVector256UInt16(Fp16Vector.SingleToHalf(f).AsUInt32()).Store(h);

    private static void Rescale16Avx512(ushort* acc, int hd, float ms)
    {
        var vm = Vector512.Create(ms);
        int i = 0;
        for (; i + 16 <= hd; i += 16) StoreHalf16Avx512(acc + i, LoadHalf16Avx512(acc + i) * vm);
        for (; i < hd; i++) acc[i] = Fp16.FromFloat(Fp16.ToFloat(acc[i]) * ms);
    }

    private static void Rescale32Avx512(float* acc, int hd, float ms)
    {
        var vm = Vector512.Create(ms);
        int i = 0;
        for (; i + 16 <= hd; i += 16) (Vector512.Load(acc + i) * vm).Store(acc + i);
        for (; i < hd; i++) acc[i] *= ms;
    }

    private static void Mad16Avx512(ushort* acc, ushort* v, int hd, float vs)
    {
        var vv = Vector512.Create(vs);
        int i = 0;
        for (; i + 16 <= hd; i += 16) StoreHalf16Avx512(acc + i, Avx512F.FusedMultiplyAdd(LoadHalf16Avx512(v + i), vv, LoadHalf16Avx512(acc + i)));
        for (; i < hd; i++) acc[i] = Fp16.FromFloat(MathF.FusedMultiplyAdd(Fp16.ToFloat(v[i]), vs, Fp16.ToFloat(acc[i])));
    }

    private static void Mad32Avx512(float* acc, float* v, int hd, float vs)
    {
        var vv = Vector512.Create(vs);
        int i = 0;
        for (; i + 16 <= hd; i += 16) Avx512F.FusedMultiplyAdd(Vector512.Load(v + i), vv, Vector512.Load(acc + i)).Store(acc + i);
        for (; i < hd; i++) acc[i] = MathF.FusedMultiplyAdd(v[i], vs, acc[i]);
    }
}
