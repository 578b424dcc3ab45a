// Reference dots of the weight formats beyond Q4_0/Q8_0 with the activation format ggml-cpu pairs them with
// (type_traits_cpu[].vec_dot_type): Q4_1·Q8_1, Q5_0·Q8_0, Q5_1·Q8_1 and every K-quant · Q8_K. Each is ggml-cpu/quants.c's
// the legacy formats follow llama.cpp's x86 order (LegacyOrder.cs); the K dots are ggml_vec_dot_*_generic: integer inner sums per (sub-)block, then the same float scale arithmetic in the same order,
// including the K dots' 8 float lanes summed at the end. SIMD paths go in sibling files (DotQ4_KQ8_K.Avx2.cs …)
// and are tested against these.
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

public static unsafe partial class DotQ2_KQ8_K
{
    /// <summary>Spec: Σ_blocks (d_a·d)·Σ_s sc_s·Σ q·a − (d_a·dmin)·Σ_s m_s·bsum_s, over 16 sub-blocks of 16; the mins
    /// use the activation's bsums so the quants are read once.</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ2_K*)w;
        var y = (BlockQ8_K*)a;
        float sumf = 0;
        for (int i = 0; i < n / BlockQ2_K.QK; i++)
        {
            byte* q2 = x[i].Qs;
            sbyte* q8 = y[i].Qs;
            byte* sc = x[i].Scales;

            int summs = 0;
            for (int j = 0; j < 16; j++) summs += y[i].BSums[j] * (sc[j] >> 4);

            float dall = y[i].D * Fp16.ToFloat(x[i].D);
            float dmin = y[i].D * Fp16.ToFloat(x[i].DMin);

            int isum = 0, s = 0;
            for (int k = 0; k < BlockQ2_K.QK / 128; k++)
            {
                for (int shift = 0; shift < 8; shift += 2)
                {
                    int d = sc[s++] & 0xF;
                    int isuml = 0;
                    for (int l = 0; l < 16; l++) isuml += q8[l] * ((q2[l] >> shift) & 3);
                    isum += d * isuml;
                    d = sc[s++] & 0xF;
                    isuml = 0;
                    for (int l = 16; l < 32; l++) isuml += q8[l] * ((q2[l] >> shift) & 3);
                    isum += d * isuml;
                    q8 += 32;
                }
                q2 += 32;
            }
            sumf += dall * isum - dmin * summs;
        }
        return sumf;
    }
}

public static unsafe partial class DotQ3_KQ8_K
{
    /// <summary>Spec: Σ_blocks (d·d_a)·Σ_s (sc_s − 32)·Σ q·a with q = 2 low bits − (hmask bit clear ? 4 : 0), over 16
    /// sub-blocks of 16, the integer sums kept in 8 lanes and turned to float per block (as ggml's generic code).</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ3_K*)w;
        var y = (BlockQ8_K*)a;
        sbyte* aux8 = stackalloc sbyte[256];
        sbyte* scales = stackalloc sbyte[16];
        int* aux32 = stackalloc int[8];
        float* sums = stackalloc float[8];
        for (int l = 0; l < 8; l++) sums[l] = 0;

        for (int i = 0; i < n / BlockQ3_K.QK; i++)
        {
            byte* q3 = x[i].Qs;
            byte* hm = x[i].HMask;
            sbyte* q8 = y[i].Qs;
            for (int l = 0; l < 8; l++) aux32[l] = 0;

            // Unpack the 3-bit values, one 32-element plane per hmask bit.
            sbyte* p = aux8;
            int m = 1;
            for (int j = 0; j < BlockQ3_K.QK; j += 128)
            {
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int l = 0; l < 32; l++) p[l] = (sbyte)(((q3[l] >> shift) & 3) - ((hm[l] & m) != 0 ? 0 : 4));
                    p += 32;
                    m <<= 1;
                }
                q3 += 32;
            }

            KScales.Q3Scales(x[i].Scales, scales);
            p = aux8;
            for (int j = 0; j < BlockQ3_K.QK / 16; j++)
            {
                int scale = scales[j] - 32;
                for (int half = 0; half < 2; half++)
                {
                    for (int l = 0; l < 8; l++) aux32[l] += scale * (short)(q8[l] * p[l]);
                    q8 += 8;
                    p += 8;
                }
            }
            float d = Fp16.ToFloat(x[i].D) * y[i].D;
            for (int l = 0; l < 8; l++) sums[l] += d * aux32[l];
        }
        float sumf = 0;
        for (int l = 0; l < 8; l++) sumf += sums[l];
        return sumf;
    }
}

public static unsafe partial class DotQ4_KQ8_K
{
    /// <summary>Spec: Σ_blocks (d·d_a)·Σ_s sc_s·Σ q·a (8 int lanes → 8 float lanes) − Σ_blocks (dmin·d_a)·Σ_s m_s·bsums,
    /// over 8 sub-blocks of 32; the min term is subtracted per block, the lanes added at the end (ggml's order).</summary>
    public static float Reference(byte* w, byte* a, int n) => KDot.Q4Q5K(w, a, n, q5: false);
}

public static unsafe partial class DotQ5_KQ8_K
{
    /// <summary>Spec: as DotQ4_KQ8_K with q = nibble + 16·(qh bit).</summary>
    public static float Reference(byte* w, byte* a, int n) => KDot.Q4Q5K(w, a, n, q5: true);
}

public static unsafe partial class DotQ6_KQ8_K
{
    /// <summary>Spec: Σ_blocks (d·d_a)·Σ_s sc_s·Σ (q − 32)·a over 16 sub-blocks of 16 (8 int lanes → 8 float lanes).</summary>
    public static float Reference(byte* w, byte* a, int n)
    {
        var x = (BlockQ6_K*)w;
        var y = (BlockQ8_K*)a;
        sbyte* aux8 = stackalloc sbyte[256];
        int* aux32 = stackalloc int[8];
        float* sums = stackalloc float[8];
        for (int l = 0; l < 8; l++) sums[l] = 0;

        for (int i = 0; i < n / BlockQ6_K.QK; i++)
        {
            byte* q4 = x[i].Ql;
            byte* qh = x[i].Qh;
            sbyte* q8 = y[i].Qs;
            for (int l = 0; l < 8; l++) aux32[l] = 0;

            sbyte* p = aux8;
            for (int j = 0; j < BlockQ6_K.QK; j += 128)
            {
                for (int l = 0; l < 32; l++)
                {
                    p[l + 0] = (sbyte)(((q4[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                    p[l + 32] = (sbyte)(((q4[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                    p[l + 64] = (sbyte)(((q4[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                    p[l + 96] = (sbyte)(((q4[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                }
                p += 128;
                q4 += 64;
                qh += 32;
            }

            p = aux8;
            for (int j = 0; j < BlockQ6_K.QK / 16; j++)
            {
                int scale = x[i].Scales[j];
                for (int half = 0; half < 2; half++)
                {
                    for (int l = 0; l < 8; l++) aux32[l] += scale * (short)(q8[l] * p[l]);
                    q8 += 8;
                    p += 8;
                }
            }
            float d = Fp16.ToFloat(x[i].D) * y[i].D;
            for (int l = 0; l < 8; l++) sums[l] += d * aux32[l];
        }
        float sumf = 0;
        for (int l = 0; l < 8; l++) sumf += sums[l];
        return sumf;
    }
}

/// <summary>The shared body of ggml_vec_dot_q4_K_q8_K_generic and ggml_vec_dot_q5_K_q8_K_generic.</summary>
internal static unsafe class KDot
{
    public static float Q4Q5K(byte* w, byte* a, int n, bool q5)
    {
        const uint kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
        var y = (BlockQ8_K*)a;
        int blockBytes = q5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
        sbyte* aux8 = stackalloc sbyte[256];
        int* aux32 = stackalloc int[8];
        float* sums = stackalloc float[8];
        uint* utmp = stackalloc uint[4];
        byte* scales = (byte*)utmp;        // 8 six-bit scales
        byte* mins = (byte*)(utmp + 2);    // 8 six-bit mins
        for (int l = 0; l < 8; l++) sums[l] = 0;

        float sumf = 0;
        for (int i = 0; i < n / 256; i++, w += blockBytes)
        {
            // Q4_K and Q5_K share the d, dmin, scales[12] prefix.
            ushort d16 = ((ushort*)w)[0], dmin16 = ((ushort*)w)[1];
            byte* packed = w + 4;
            byte* q4 = q5 ? ((BlockQ5_K*)w)->Qs : ((BlockQ4_K*)w)->Qs;
            byte* hm = q5 ? ((BlockQ5_K*)w)->Qh : null;
            sbyte* q8 = y[i].Qs;
            for (int l = 0; l < 8; l++) aux32[l] = 0;

            sbyte* p = aux8;
            int m = 1;
            for (int j = 0; j < 256 / 64; j++)
            {
                for (int l = 0; l < 32; l++) p[l] = (sbyte)((q4[l] & 0xF) + (q5 && (hm[l] & m) != 0 ? 16 : 0));
                p += 32;
                m <<= 1;
                for (int l = 0; l < 32; l++) p[l] = (sbyte)((q4[l] >> 4) + (q5 && (hm[l] & m) != 0 ? 16 : 0));
                p += 32;
                m <<= 1;
                q4 += 32;
            }

            // ggml's word shuffle of the 12 packed bytes into scales[0..7], mins[0..7] (same as get_scale_min_k4).
            utmp[0] = Unsafe.ReadUnaligned<uint>(packed);
            utmp[1] = Unsafe.ReadUnaligned<uint>(packed + 4);
            utmp[2] = Unsafe.ReadUnaligned<uint>(packed + 8);
            utmp[3] = ((utmp[2] >> 4) & kmask2) | (((utmp[1] >> 6) & kmask3) << 4);
            uint uaux = utmp[1] & kmask1;
            utmp[1] = (utmp[2] & kmask2) | (((utmp[0] >> 6) & kmask3) << 4);
            utmp[2] = uaux;
            utmp[0] &= kmask1;

            int sumi = 0;
            for (int j = 0; j < 256 / 16; j++) sumi += y[i].BSums[j] * mins[j / 2];

            p = aux8;
            for (int j = 0; j < 256 / 32; j++)
            {
                int scale = scales[j];
                for (int quarter = 0; quarter < 4; quarter++)
                {
                    for (int l = 0; l < 8; l++) aux32[l] += scale * (short)(q8[l] * p[l]);
                    q8 += 8;
                    p += 8;
                }
            }
            float d = Fp16.ToFloat(d16) * y[i].D;
            for (int l = 0; l < 8; l++) sums[l] += d * aux32[l];
            float dmin = Fp16.ToFloat(dmin16) * y[i].D;
            sumf -= dmin * sumi;
        }
        for (int l = 0; l < 8; l++) sumf += sums[l];
        return sumf;
    }
}
