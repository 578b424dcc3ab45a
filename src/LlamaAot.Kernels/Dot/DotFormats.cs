// Reference dots of the weight formats beyond Q4_0/Q8_0 with the activation format ggml-cpu pairs them with
// (type_traits_cpu[].vec_dot_type): Q4_1·Q8_1, Q5_0·Q8_0, Q5_1·Q8_1 and every K-quant · Q8_K. All follow llama.cpp's
// x86 arithmetic so that they equal it bit for bit: the legacy formats its 8-lane order (LegacyOrder.cs), the K dots
// the 8 int32 lanes of ggml-cpu/arch/x86/quants.c's AVX2 kernels (KOrder below), or the blockwise order of the
// repacked q4_K_8x8 / q2_K_8x8 kernels for matrices with a multiple of 8 rows. SIMD paths go in sibling files
// (DotQ4_KQ8_K.Avx2.cs …) and are tested against these for exact equality.
using System.Runtime.CompilerServices;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_1Q8_1
{
    private static int Weight(byte* block, int i)
    {
        var x = (BlockQ4_1*)block;
        return i < 16 ? x->Qs[i] & 0x0F : x->Qs[i - 16] >> 4;
    }

    /// <summary>Spec: Σ_blocks (d_w·d_a)·Σ_j q_j·a_j + m_w·s_a (s_a = d_a·Σ a_j carries the minimum's share), in
    /// llama.cpp's x86 order (<see cref="LegacyOrder"/>).</summary>
    public static float Reference(byte* w, byte* a, int n) =>
        LegacyOrder.Dot(w, sizeof(BlockQ4_1), a, sizeof(BlockQ8_1), 4, n, hasMin: true, &Weight);
}

public static unsafe partial class DotQ5_0Q8_0
{
    private static int Weight(byte* block, int i)
    {
        var x = (BlockQ5_0*)block;
        uint qh = Unsafe.ReadUnaligned<uint>(x->Qh);
        int lo = i < 16 ? x->Qs[i] & 0x0F : x->Qs[i - 16] >> 4;
        return (lo | (int)(((qh >> i) & 1) << 4)) - 16;
    }

    /// <summary>Spec: Σ_blocks (d_w·d_a)·Σ_j (q_j − 16)·a_j, q_j the 5-bit value, in llama.cpp's x86 order.</summary>
    public static float Reference(byte* w, byte* a, int n) =>
        LegacyOrder.Dot(w, sizeof(BlockQ5_0), a, sizeof(BlockQ8_0), 2, n, hasMin: false, &Weight);
}

public static unsafe partial class DotQ5_1Q8_1
{
    private static int Weight(byte* block, int i)
    {
        var x = (BlockQ5_1*)block;
        uint qh = Unsafe.ReadUnaligned<uint>(x->Qh);
        int lo = i < 16 ? x->Qs[i] & 0x0F : x->Qs[i - 16] >> 4;
        return lo | (int)(((qh >> i) & 1) << 4);
    }

    /// <summary>Spec: Σ_blocks (d_w·d_a)·Σ_j q_j·a_j + m_w·s_a, q_j the 5-bit value, in llama.cpp's x86 order.</summary>
    public static float Reference(byte* w, byte* a, int n) =>
        LegacyOrder.Dot(w, sizeof(BlockQ5_1), a, sizeof(BlockQ8_1), 4, n, hasMin: true, &Weight);
}

// ---------------------------------------------------------------------------------------------------------------
// K-quants · Q8_K. llama.cpp on x86 (ggml-cpu/arch/x86/quants.c, ggml_vec_dot_q*_K_q8_K, the __AVX2__ branch, which
// an AVX-512 build compiles too: there is no AVX-512 branch in these five) keeps one super-block's integer sums in
// 8 int32 lanes: lane l holds the elements e (0..255) with (e >> 2) & 7 == l, i.e. bytes 4l..4l+3 of every 32-byte
// chunk, each times its sub-block scale (exact integers: maddubs/madd never saturate for these ranges). Per block
// the lanes go to float and acc[l] = fma(d_a·d_w, lane[l], acc[l]); the result is Reductions.Hsum8(acc). The mins
// differ per format (see each Reference). Matrices llama.cpp repacks (ggml-cpu/repack.cpp
// ggml_repack_get_optimal_repack_type: Q4_K → q4_K_8x8 with AVX2, Q2_K → q2_K_8x8 with AVX-512, both only when the
// row count is a multiple of 8) use arch/x86/repack.cpp's gemv/gemm order instead: ReferenceBlockwise.
// ---------------------------------------------------------------------------------------------------------------

/// <summary>The lane arithmetic the x86 K dots share. Each format decodes one super-block to 256 signed quants and
/// 16 per-16-element scales (32-element sub-blocks repeat their scale twice).</summary>
internal static unsafe class KOrder
{
    public const int QK = 256;

    /// <summary>lane[l] = Σ_{e : (e &gt;&gt; 2) &amp; 7 == l} sc16[e / 16]·q[e]·a[e] (ggml's 8 int32 lanes).</summary>
    public static void LaneSums(sbyte* q, int* sc16, sbyte* a, int* lane)
    {
        for (int l = 0; l < 8; l++) lane[l] = 0;
        for (int e = 0; e < QK; e++) lane[(e >> 2) & 7] += sc16[e >> 4] * q[e] * a[e];
    }

    /// <summary>Σ_e sc16[e / 16]·q[e]·a[e], the whole super-block as one integer (the repacked kernels).</summary>
    public static int BlockSum(sbyte* q, int* sc16, sbyte* a)
    {
        int s = 0;
        for (int e = 0; e < QK; e++) s += sc16[e >> 4] * q[e] * a[e];
        return s;
    }

    // Decoders: element e of the super-block and the scale of each 16 elements.

    public static void DecodeQ2(BlockQ2_K* x, sbyte* q, int* sc16, int* min16)
    {
        for (int e = 0; e < QK; e++)
        {
            int g = e >> 7, s = (e >> 5) & 3, l = e & 31;
            q[e] = (sbyte)((x->Qs[32 * g + l] >> (2 * s)) & 3);
        }
        for (int j = 0; j < 16; j++)
        {
            sc16[j] = x->Scales[j] & 0xF;
            min16[j] = x->Scales[j] >> 4;
        }
    }

    public static void DecodeQ3(BlockQ3_K* x, sbyte* q, int* sc16)
    {
        for (int e = 0; e < QK; e++)
        {
            int g = e >> 7, s = (e >> 5) & 3, l = e & 31;
            int low = (x->Qs[32 * g + l] >> (2 * s)) & 3;
            q[e] = (sbyte)(low - ((x->HMask[l] >> (4 * g + s) & 1) != 0 ? 0 : 4));
        }
        sbyte* scales = stackalloc sbyte[16];
        KScales.Q3Scales(x->Scales, scales);
        for (int j = 0; j < 16; j++) sc16[j] = scales[j] - 32;
    }

    /// <summary>Q4_K (qh == null) and Q5_K: 4-bit quants (+16 for a set qh bit), 8 six-bit scales and mins.</summary>
    public static void DecodeQ4Q5(byte* packedScales, byte* qs, byte* qh, sbyte* q, int* sc16, int* min8)
    {
        for (int e = 0; e < QK; e++)
        {
            int g = e >> 6, hi = (e >> 5) & 1, l = e & 31;
            int v = hi == 0 ? qs[32 * g + l] & 0xF : qs[32 * g + l] >> 4;
            if (qh != null) v += ((qh[l] >> (2 * g + hi)) & 1) << 4;
            q[e] = (sbyte)v;
        }
        for (int j = 0; j < 8; j++)
        {
            KScales.ScaleMinK4(j, packedScales, out byte d, out byte m);
            sc16[2 * j] = sc16[2 * j + 1] = d;
            min8[j] = m;
        }
    }

    public static void DecodeQ6(BlockQ6_K* x, sbyte* q, int* sc16)
    {
        for (int e = 0; e < QK; e++)
        {
            int g = e >> 7, s = (e >> 5) & 3, l = e & 31;
            int low = (x->Ql[64 * g + 32 * (s & 1) + l] >> (4 * (s >> 1))) & 0xF;
            int high = (x->Qh[32 * g + l] >> (2 * s)) & 3;
            q[e] = (sbyte)((low | (high << 4)) - 32);
        }
        for (int j = 0; j < 16; j++) sc16[j] = x->Scales[j];
    }

    /// <summary>Σ_j min8[j]·(bsums[2j] + bsums[2j+1]) as an integer (Q4_K/Q5_K mins over 32-element sub-blocks).</summary>
    public static int MinSum8(int* min8, short* bsums)
    {
        int s = 0;
        for (int j = 0; j < 8; j++) s += min8[j] * (bsums[2 * j] + bsums[2 * j + 1]);
        return s;
    }
}

public static unsafe partial class DotQ2_KQ8_K
{
    /// <summary>Spec (ggml_vec_dot_q2_K_q8_K, AVX2): per block, first acc[l] = fma(−d_a·dmin, m[2l]·bsums[2l] +
    /// m[2l+1]·bsums[2l+1], acc[l]) (mins times bsums in the same 8 lanes), then acc[l] = fma(d_a·d, lane[l], acc[l])
    /// (<see cref="KOrder"/>); result Hsum8(acc).</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ2_K*)w;
        var y = (BlockQ8_K*)a;
        sbyte* q = stackalloc sbyte[256];
        int* sc = stackalloc int[16];
        int* mn = stackalloc int[16];
        int* lane = stackalloc int[8];
        float* acc = stackalloc float[8];
        for (int l = 0; l < 8; l++) acc[l] = 0;
        for (int i = 0; i < n / BlockQ2_K.QK; i++)
        {
            KOrder.DecodeQ2(x + i, q, sc, mn);
            float d = y[i].D * Fp16.ToFloat(x[i].D);
            float dmin = -y[i].D * Fp16.ToFloat(x[i].DMin);
            for (int l = 0; l < 8; l++)
                acc[l] = MathF.FusedMultiplyAdd(dmin, mn[2 * l] * y[i].BSums[2 * l] + mn[2 * l + 1] * y[i].BSums[2 * l + 1], acc[l]);
            KOrder.LaneSums(q, sc, y[i].Qs, lane);
            for (int l = 0; l < 8; l++) acc[l] = MathF.FusedMultiplyAdd(d, lane[l], acc[l]);
        }
        return Reductions.Hsum8(acc);
    }

    /// <summary>Spec for matrices with a multiple of 8 rows, repacked to q2_K_8x8 on AVX-512 (arch/x86/repack.cpp
    /// ggml_gemv/gemm_q2_K_8x8_q8_K): per block the whole integer sums, acc = fma(Σ sc·q·a, d·d_a, acc) and
    /// accm = fma(Σ m·bsums, dmin·d_a, accm); result acc − accm.</summary>
    public static float ReferenceBlockwise(byte* w, byte* a, int n)
    {
        var x = (BlockQ2_K*)w;
        var y = (BlockQ8_K*)a;
        sbyte* q = stackalloc sbyte[256];
        int* sc = stackalloc int[16];
        int* mn = stackalloc int[16];
        float acc = 0, accm = 0;
        for (int i = 0; i < n / BlockQ2_K.QK; i++)
        {
            KOrder.DecodeQ2(x + i, q, sc, mn);
            int summ = 0;
            for (int j = 0; j < 16; j++) summ += mn[j] * y[i].BSums[j];
            acc = MathF.FusedMultiplyAdd(KOrder.BlockSum(q, sc, y[i].Qs), Fp16.ToFloat(x[i].D) * y[i].D, acc);
            accm = MathF.FusedMultiplyAdd(summ, Fp16.ToFloat(x[i].DMin) * y[i].D, accm);
        }
        return acc - accm;
    }
}

public static unsafe partial class DotQ3_KQ8_K
{
    /// <summary>Spec (ggml_vec_dot_q3_K_q8_K, AVX2): q = 2 low bits − (hmask bit clear ? 4 : 0), scales sc − 32;
    /// acc[l] = fma(d_a·d, lane[l], acc[l]) per block (<see cref="KOrder"/>); result Hsum8(acc).</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ3_K*)w;
        var y = (BlockQ8_K*)a;
        sbyte* q = stackalloc sbyte[256];
        int* sc = stackalloc int[16];
        int* lane = stackalloc int[8];
        float* acc = stackalloc float[8];
        for (int l = 0; l < 8; l++) acc[l] = 0;
        for (int i = 0; i < n / BlockQ3_K.QK; i++)
        {
            KOrder.DecodeQ3(x + i, q, sc);
            float d = y[i].D * Fp16.ToFloat(x[i].D);
            KOrder.LaneSums(q, sc, y[i].Qs, lane);
            for (int l = 0; l < 8; l++) acc[l] = MathF.FusedMultiplyAdd(d, lane[l], acc[l]);
        }
        return Reductions.Hsum8(acc);
    }
}

public static unsafe partial class DotQ4_KQ8_K
{
    /// <summary>Spec (ggml_vec_dot_q4_K_q8_K, AVX2): acc[l] = fma(d_a·d, lane[l], acc[l]) (<see cref="KOrder"/>);
    /// the mins in 4 float lanes: accm[k] = fma(−d_a·dmin, m[2k]·(bs[4k]+bs[4k+1]) + m[2k+1]·(bs[4k+2]+bs[4k+3]),
    /// accm[k]); result Hsum8(acc) + ((accm0 + accm2) + (accm1 + accm3)).</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ4_K*)w;
        var y = (BlockQ8_K*)a;
        sbyte* q = stackalloc sbyte[256];
        int* sc = stackalloc int[16];
        int* mn = stackalloc int[8];
        int* lane = stackalloc int[8];
        float* acc = stackalloc float[8];
        float* accm = stackalloc float[4];
        for (int l = 0; l < 8; l++) acc[l] = 0;
        for (int k = 0; k < 4; k++) accm[k] = 0;
        for (int i = 0; i < n / BlockQ4_K.QK; i++)
        {
            KOrder.DecodeQ4Q5(x[i].Scales, x[i].Qs, null, q, sc, mn);
            float d = y[i].D * Fp16.ToFloat(x[i].D);
            float dmin = -y[i].D * Fp16.ToFloat(x[i].DMin);
            short* bs = y[i].BSums;
            for (int k = 0; k < 4; k++)
            {
                int p = mn[2 * k] * (bs[4 * k] + bs[4 * k + 1]) + mn[2 * k + 1] * (bs[4 * k + 2] + bs[4 * k + 3]);
                accm[k] = MathF.FusedMultiplyAdd(dmin, p, accm[k]);
            }
            KOrder.LaneSums(q, sc, y[i].Qs, lane);
            for (int l = 0; l < 8; l++) acc[l] = MathF.FusedMultiplyAdd(d, lane[l], acc[l]);
        }
        return Reductions.Hsum8(acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]));
    }

    /// <summary>Spec for matrices with a multiple of 8 rows, repacked to q4_K_8x8 with AVX2 (arch/x86/repack.cpp
    /// ggml_gemv/gemm_q4_K_8x8_q8_K): acc = fma(Σ sc·q·a, d·d_a, acc), accm = fma(Σ m·bsums, dmin·d_a, accm) per block;
    /// result acc − accm.</summary>
    public static float ReferenceBlockwise(byte* w, byte* a, int n)
    {
        var x = (BlockQ4_K*)w;
        var y = (BlockQ8_K*)a;
        sbyte* q = stackalloc sbyte[256];
        int* sc = stackalloc int[16];
        int* mn = stackalloc int[8];
        float acc = 0, accm = 0;
        for (int i = 0; i < n / BlockQ4_K.QK; i++)
        {
            KOrder.DecodeQ4Q5(x[i].Scales, x[i].Qs, null, q, sc, mn);
            acc = MathF.FusedMultiplyAdd(KOrder.BlockSum(q, sc, y[i].Qs), Fp16.ToFloat(x[i].D) * y[i].D, acc);
            accm = MathF.FusedMultiplyAdd(KOrder.MinSum8(mn, y[i].BSums), Fp16.ToFloat(x[i].DMin) * y[i].D, accm);
        }
        return acc - accm;
    }
}

public static unsafe partial class DotQ5_KQ8_K
{
    /// <summary>Spec (ggml_vec_dot_q5_K_q8_K, AVX2): q = nibble + 16·(qh bit); acc[l] = fma(d_a·d, lane[l], acc[l])
    /// (<see cref="KOrder"/>); the mins as one scalar, summs = fma(−d_a·dmin, Σ m·bsums, summs) per block (the C is
    /// `summs += dmin * int`, which GCC contracts to an fma under -march=native); result Hsum8(acc) + summs.</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ5_K*)w;
        var y = (BlockQ8_K*)a;
        sbyte* q = stackalloc sbyte[256];
        int* sc = stackalloc int[16];
        int* mn = stackalloc int[8];
        int* lane = stackalloc int[8];
        float* acc = stackalloc float[8];
        for (int l = 0; l < 8; l++) acc[l] = 0;
        float summs = 0;
        for (int i = 0; i < n / BlockQ5_K.QK; i++)
        {
            KOrder.DecodeQ4Q5(x[i].Scales, x[i].Qs, x[i].Qh, q, sc, mn);
            float d = y[i].D * Fp16.ToFloat(x[i].D);
            float dmin = -y[i].D * Fp16.ToFloat(x[i].DMin);
            summs = MathF.FusedMultiplyAdd(dmin, KOrder.MinSum8(mn, y[i].BSums), summs);   // GCC contracts summs += dmin·int
            KOrder.LaneSums(q, sc, y[i].Qs, lane);
            for (int l = 0; l < 8; l++) acc[l] = MathF.FusedMultiplyAdd(d, lane[l], acc[l]);
        }
        return Reductions.Hsum8(acc) + summs;
    }
}

public static unsafe partial class DotQ6_KQ8_K
{
    /// <summary>Spec (ggml_vec_dot_q6_K_q8_K, AVX2 since llama.cpp PR #22345, "optimize avx2 q6_k"): the quants are
    /// taken unsigned (0..63) and the −32 offset is applied through the activation's bsums. Per block, lane[l] =
    /// Σ_{(e &gt;&gt; 2) &amp; 7 == l} sc[e/16]·u[e]·a[e] − 32·(sc[2l]·bsums[2l] + sc[2l+1]·bsums[2l+1]) (the offset
    /// is a 16-lane madd of bsums and scales, so lane l carries sub-blocks 2l and 2l+1 — not the elements of lane l);
    /// acc[l] = fma(d_a·d, lane[l], acc[l]); result Hsum8(acc). The lane totals differ from the plain (u − 32) ones,
    /// so the float result does too.</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ6_K*)w;
        var y = (BlockQ8_K*)a;
        sbyte* q = stackalloc sbyte[256];
        int* sc = stackalloc int[16];
        int* lane = stackalloc int[8];
        float* acc = stackalloc float[8];
        for (int l = 0; l < 8; l++) acc[l] = 0;
        for (int i = 0; i < n / BlockQ6_K.QK; i++)
        {
            KOrder.DecodeQ6(x + i, q, sc);   // q = u − 32
            float d = y[i].D * Fp16.ToFloat(x[i].D);
            sbyte* a8 = y[i].Qs;
            short* bs = y[i].BSums;
            for (int l = 0; l < 8; l++) lane[l] = -32 * (sc[2 * l] * bs[2 * l] + sc[2 * l + 1] * bs[2 * l + 1]);
            for (int e = 0; e < 256; e++) lane[(e >> 2) & 7] += sc[e >> 4] * (q[e] + 32) * a8[e];
            for (int l = 0; l < 8; l++) acc[l] = MathF.FusedMultiplyAdd(d, lane[l], acc[l]);
        }
        return Reductions.Hsum8(acc);
    }
}
