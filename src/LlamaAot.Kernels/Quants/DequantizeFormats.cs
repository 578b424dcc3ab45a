// Reference row dequantizers (block format → fp32) for the formats beyond F32/F16/BF16/Q8_0/Q4_0 (Dequantize.cs):
// the specification every dot kernel of these formats must agree with. Each is ggml-quants.c's dequantize_row_* with
// the same float operations in the same order (ggml-base is built without FMA, so no fused multiply-adds here either),
// hence bit-identical output, which matters because get_rows (the token embedding) goes through these.
using System.Runtime.CompilerServices;

namespace LlamaAot.Kernels.Quants;

public static unsafe class DequantizeFormats
{
    /// <summary>x[j] = lo(qs[j])·d + m, x[j + 16] = hi(qs[j])·d + m.</summary>
    public static void Q4_1(byte* x, float* y, int n)
    {
        var b = (BlockQ4_1*)x;
        for (int i = 0; i < n / BlockQ4_1.QK; i++, y += BlockQ4_1.QK)
        {
            float d = Fp16.ToFloat(b[i].D);
            float m = Fp16.ToFloat(b[i].M);
            for (int j = 0; j < BlockQ4_1.QK / 2; j++)
            {
                y[j] = (b[i].Qs[j] & 0x0F) * d + m;
                y[j + 16] = (b[i].Qs[j] >> 4) * d + m;
            }
        }
    }

    /// <summary>x[j] = ((lo(qs[j]) | bit j of qh ≪ 4) − 16)·d, x[j + 16] likewise with the high nibble and bit j + 16.</summary>
    public static void Q5_0(byte* x, float* y, int n)
    {
        var b = (BlockQ5_0*)x;
        for (int i = 0; i < n / BlockQ5_0.QK; i++, y += BlockQ5_0.QK)
        {
            float d = Fp16.ToFloat(b[i].D);
            uint qh = Unsafe.ReadUnaligned<uint>(b[i].Qh);   // little-endian, as ggml's memcpy into a uint32_t
            for (int j = 0; j < BlockQ5_0.QK / 2; j++)
            {
                int xh0 = (int)((qh >> j) << 4) & 0x10;
                int xh1 = (int)(qh >> (j + 12)) & 0x10;
                y[j] = (((b[i].Qs[j] & 0x0F) | xh0) - 16) * d;
                y[j + 16] = (((b[i].Qs[j] >> 4) | xh1) - 16) * d;
            }
        }
    }

    /// <summary>x[j] = (lo(qs[j]) | bit j of qh ≪ 4)·d + m, x[j + 16] likewise.</summary>
    public static void Q5_1(byte* x, float* y, int n)
    {
        var b = (BlockQ5_1*)x;
        for (int i = 0; i < n / BlockQ5_1.QK; i++, y += BlockQ5_1.QK)
        {
            float d = Fp16.ToFloat(b[i].D);
            float m = Fp16.ToFloat(b[i].M);
            uint qh = Unsafe.ReadUnaligned<uint>(b[i].Qh);
            for (int j = 0; j < BlockQ5_1.QK / 2; j++)
            {
                int xh0 = (int)((qh >> j) << 4) & 0x10;
                int xh1 = (int)(qh >> (j + 12)) & 0x10;
                y[j] = ((b[i].Qs[j] & 0x0F) | xh0) * d + m;
                y[j + 16] = ((b[i].Qs[j] >> 4) | xh1) * d + m;
            }
        }
    }

    /// <summary>x[j] = q[j]·d. ggml has no to_float for Q8_1 (it is only ever an activation); this is for tests.</summary>
    public static void Q8_1(byte* x, float* y, int n)
    {
        var b = (BlockQ8_1*)x;
        for (int i = 0; i < n / BlockQ8_1.QK; i++, y += BlockQ8_1.QK)
        {
            float d = Fp16.ToFloat(b[i].D);
            for (int j = 0; j < BlockQ8_1.QK; j++) y[j] = b[i].Qs[j] * d;
        }
    }

    /// <summary>x = d·(sc &amp; 15)·q − dmin·(sc ≫ 4) per 16-element sub-block, q the 2-bit field.</summary>
    public static void Q2_K(byte* x, float* y, int n)
    {
        var b = (BlockQ2_K*)x;
        for (int i = 0; i < n / BlockQ2_K.QK; i++)
        {
            float d = Fp16.ToFloat(b[i].D);
            float min = Fp16.ToFloat(b[i].DMin);
            byte* q = b[i].Qs;
            byte* scales = b[i].Scales;
            int s = 0;
            for (int half = 0; half < BlockQ2_K.QK; half += 128)
            {
                // Each 32-byte group of qs carries 4 × 32 elements, one 2-bit plane per shift.
                for (int shift = 0; shift < 8; shift += 2)
                {
                    byte sc = scales[s++];
                    float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * ((q[l] >> shift) & 3) - ml;

                    sc = scales[s++];
                    dl = d * (sc & 0xF);
                    ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * ((q[l + 16] >> shift) & 3) - ml;
                }
                q += 32;
            }
        }
    }

    /// <summary>x = d·(sc − 32)·(q2 − (hmask bit clear ? 4 : 0)) per 16-element sub-block.</summary>
    public static void Q3_K(byte* x, float* y, int n)
    {
        var b = (BlockQ3_K*)x;
        sbyte* scales = stackalloc sbyte[16];
        for (int i = 0; i < n / BlockQ3_K.QK; i++)
        {
            float dAll = Fp16.ToFloat(b[i].D);
            byte* q = b[i].Qs;
            byte* hm = b[i].HMask;
            KScales.Q3Scales(b[i].Scales, scales);
            int s = 0;
            int m = 1;   // hmask bit of the current 32-element plane
            for (int half = 0; half < BlockQ3_K.QK; half += 128)
            {
                for (int shift = 0; shift < 8; shift += 2)
                {
                    float dl = dAll * (scales[s++] - 32);
                    for (int l = 0; l < 16; l++) *y++ = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) != 0 ? 0 : 4));

                    dl = dAll * (scales[s++] - 32);
                    for (int l = 0; l < 16; l++) *y++ = dl * (((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) != 0 ? 0 : 4));
                    m <<= 1;
                }
                q += 32;
            }
        }
    }

    /// <summary>x = d·sc·q − dmin·m per 32-element sub-block (6-bit sc, m from KScales.ScaleMinK4), q a nibble.</summary>
    public static void Q4_K(byte* x, float* y, int n)
    {
        var b = (BlockQ4_K*)x;
        for (int i = 0; i < n / BlockQ4_K.QK; i++)
        {
            byte* q = b[i].Qs;
            float d = Fp16.ToFloat(b[i].D);
            float min = Fp16.ToFloat(b[i].DMin);
            for (int j = 0, s = 0; j < BlockQ4_K.QK; j += 64, s += 2)
            {
                KScales.ScaleMinK4(s + 0, b[i].Scales, out byte sc, out byte m);
                float d1 = d * sc, m1 = min * m;
                KScales.ScaleMinK4(s + 1, b[i].Scales, out sc, out m);
                float d2 = d * sc, m2 = min * m;
                for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
                for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
                q += 32;
            }
        }
    }

    /// <summary>Q4_K plus a 5th bit from qh: x = d·sc·(q + 16·h) − dmin·m.</summary>
    public static void Q5_K(byte* x, float* y, int n)
    {
        var b = (BlockQ5_K*)x;
        for (int i = 0; i < n / BlockQ5_K.QK; i++)
        {
            byte* ql = b[i].Qs;
            byte* qh = b[i].Qh;
            float d = Fp16.ToFloat(b[i].D);
            float min = Fp16.ToFloat(b[i].DMin);
            int u1 = 1, u2 = 2;
            for (int j = 0, s = 0; j < BlockQ5_K.QK; j += 64, s += 2)
            {
                KScales.ScaleMinK4(s + 0, b[i].Scales, out byte sc, out byte m);
                float d1 = d * sc, m1 = min * m;
                KScales.ScaleMinK4(s + 1, b[i].Scales, out sc, out m);
                float d2 = d * sc, m2 = min * m;
                for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - m1;
                for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - m2;
                ql += 32;
                u1 <<= 2;
                u2 <<= 2;
            }
        }
    }

    /// <summary>x = d·sc·(q − 32) per 16-element sub-block, q = 4 bits of ql | 2 bits of qh ≪ 4.</summary>
    public static void Q6_K(byte* x, float* y, int n)
    {
        var b = (BlockQ6_K*)x;
        for (int i = 0; i < n / BlockQ6_K.QK; i++)
        {
            float d = Fp16.ToFloat(b[i].D);
            byte* ql = b[i].Ql;
            byte* qh = b[i].Qh;
            sbyte* sc = b[i].Scales;
            for (int half = 0; half < BlockQ6_K.QK; half += 128)
            {
                for (int l = 0; l < 32; l++)
                {
                    int s = l / 16;
                    int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    // (d·sc)·q, left to right as in C.
                    y[l] = d * sc[s + 0] * q1;
                    y[l + 32] = d * sc[s + 2] * q2;
                    y[l + 64] = d * sc[s + 4] * q3;
                    y[l + 96] = d * sc[s + 6] * q4;
                }
                y += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
    }

    /// <summary>x[j] = d·q[j] with an fp32 d.</summary>
    public static void Q8_K(byte* x, float* y, int n)
    {
        var b = (BlockQ8_K*)x;
        for (int i = 0; i < n / BlockQ8_K.QK; i++, y += BlockQ8_K.QK)
        {
            float d = b[i].D;
            for (int j = 0; j < BlockQ8_K.QK; j++) y[j] = d * b[i].Qs[j];
        }
    }
}
