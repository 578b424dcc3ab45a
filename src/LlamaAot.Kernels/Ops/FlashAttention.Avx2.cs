// Flash attention, AVX2: FlashAttention.Avx512.cs with 8-lane vectors (vpmovzxwd to widen, vpackusdw to narrow);
// bit-exact with Reference given the same KeyDot. head_dim mod 8 leftovers run the scalar code.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Ops;

public static unsafe partial class FlashAttention
{
    public static void Avx2(AttentionArgs* p)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !Fma.IsSupported) { Reference(p); return; }
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
                if (p->F16) Rescale16Avx2(acc16, hd, ms);
                else Rescale32Avx2(acc32, hd, ms);
            }
            else
            {
                vs = MathF.Exp(s - m);
            }

            byte* v = p->Values + t * p->RowBytes;
            if (p->F16) Mad16Avx2(acc16, (ushort*)v, hd, vs);
            else Mad32Avx2(acc32, (float*)v, hd, vs);
            sum = sum * ms + vs;
        }

        float inv = sum == 0f ? 0f : 1f / sum;
        var vi = Vector256.Create(inv);
        int i = 0;
        if (p->F16)
        {
            for (; i + 8 <= hd; i += 8) (LoadHalf8Avx2(acc16 + i) * vi).Store(p->Output + i);
            for (; i < hd; i++) p->Output[i] = Fp16.ToFloat(acc16[i]) * inv;
        }
        else
        {
            for (; i + 8 <= hd; i += 8) (Vector256.Load(acc32 + i) * vi).Store(p->Output + i);
            for (; i < hd; i++) p->Output[i] = acc32[i] * inv;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> LoadHalf8Avx2(ushort* h) => Fp16Vector.HalfHiToSingle(System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int32(Vector128.Load(h)) << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalf8Avx2(ushort* h, Vector256<float> f)
    {
        var r = Fp16Vector.SingleToHalf(f);
        Sse41.PackUnsignedSaturate(r.GetLower(), r.GetUpper()).Store(h);   // values ≤ 0xffff: no saturation
    }

    private static void Rescale16Avx2(ushort* acc, int hd, float ms)
    {
        var vm = Vector256.Create(ms);
        int i = 0;
        for (; i + 8 <= hd; i += 8) StoreHalf8Avx2(acc + i, LoadHalf8Avx2(acc + i) * vm);
        for (; i < hd; i++) acc[i] = Fp16.FromFloat(Fp16.ToFloat(acc[i]) * ms);
    }

    private static void Rescale32Avx2(float* acc, int hd, float ms)
    {
        var vm = Vector256.Create(ms);
        int i = 0;
        for (; i + 8 <= hd; i += 8) (Vector256.Load(acc + i) * vm).Store(acc + i);
        for (; i < hd; i++) acc[i] *= ms;
    }

    private static void Mad16Avx2(ushort* acc, ushort* v, int hd, float vs)
    {
        var vv = Vector256.Create(vs);
        int i = 0;
        for (; i + 8 <= hd; i += 8) StoreHalf8Avx2(acc + i, Fma.MultiplyAdd(LoadHalf8Avx2(v + i), vv, LoadHalf8Avx2(acc + i)));
        for (; i < hd; i++) acc[i] = Fp16.FromFloat(MathF.FusedMultiplyAdd(Fp16.ToFloat(v[i]), vs, Fp16.ToFloat(acc[i])));
    }

    private static void Mad32Avx2(float* acc, float* v, int hd, float vs)
    {
        var vv = Vector256.Create(vs);
        int i = 0;
        for (; i + 8 <= hd; i += 8) Fma.MultiplyAdd(Vector256.Load(v + i), vv, Vector256.Load(acc + i)).Store(acc + i);
        for (; i < hd; i++) acc[i] = MathF.FusedMultiplyAdd(v[i], vs, acc[i]);
    }
}
