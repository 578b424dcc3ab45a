// fp32 → block quantizers beyond the Q8_0 activation quantizer (QuantizeQ8_0.cs), ported from ggml so that outputs
// are bit-identical:
//   activation formats, as ggml-cpu's x86 build produces them (what the golden data was made with):
//     Q8_1  — arch/x86/quants.c quantize_row_q8_1: d = amax/127, q = round-half-even(x·127/amax), s = fp16(d·Σq)
//     Q8_K  — quantize_row_q8_K_ref (x86 calls the reference): signed-max scale −127/max, nearest_int, bsums
//   weight formats, as llama-quantize writes them without an imatrix (quantize_qX with quant_weights == NULL calls
//   these quantize_row_*_ref from ggml-quants.c): Q4_0Ref … Q8_0Ref, Q2_KRef … Q6_KRef, with their helpers
//   make_qx_quants, make_q3_quants and make_qkx2_quants.
// The float expressions keep C's evaluation order and are not fused: ggml-base is compiled without FMA, and the
// scale searches compare errors so closely that a different rounding picks a different scale.
using System.Runtime.CompilerServices;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class QuantizeFormats
{
    /// <summary>ggml's GROUP_MAX_EPS: a group whose largest |x| is below this is treated as all zero.</summary>
    private const float GroupMaxEps = 1e-15f;

    /// <summary>ggml's nearest_int: adding 1.5·2²³ leaves round-half-even(fval) in the low mantissa bits.
    /// Valid for |fval| ≤ 2²² − 1, the range ggml asserts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int NearestInt(float fval)
    {
        float val = fval + 12582912f;
        int i = BitConverter.SingleToInt32Bits(val);
        return (i & 0x007fffff) - 0x00400000;
    }

    // ───────────────────────────── activation formats ─────────────────────────────

    /// <summary>Spec (x86 quantize_row_q8_1): per 32 values amax = max|x|, d = amax/127, q = rne(x·(127/amax)),
    /// s = fp16(d·Σq) with the unrounded fp32 d.</summary>
    public static void Q8_1(float* x, byte* y, int n)
    {
        var blocks = (BlockQ8_1*)y;
        for (int b = 0; b < n / BlockQ8_1.QK; b++, x += BlockQ8_1.QK)
        {
            float amax = 0;
            for (int j = 0; j < BlockQ8_1.QK; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            blocks[b].D = Fp16.FromFloat(d);
            int sum = 0;
            for (int j = 0; j < BlockQ8_1.QK; j++)
            {
                int q = (int)MathF.Round(x[j] * id, MidpointRounding.ToEven);
                blocks[b].Qs[j] = (sbyte)q;
                sum += q;
            }
            blocks[b].S = Fp16.FromFloat(d * sum);
        }
    }

    /// <summary>Spec (quantize_row_q8_K_ref): per 256 values take max, the value of largest magnitude with its sign;
    /// iscale = −127/max; q = min(127, nearest_int(iscale·x)); d = 1/iscale; bsums[k] = Σ q over 16 values. (The sign
    /// of max makes d negative when max &gt; 0; d·q is unaffected. ggml chose −127 rather than −128 for IQ2_XXS.)</summary>
    public static void Q8_K(float* x, byte* y, int n)
    {
        var blocks = (BlockQ8_K*)y;
        for (int b = 0; b < n / BlockQ8_K.QK; b++, x += BlockQ8_K.QK)
        {
            var blk = blocks + b;
            float max = 0, amax = 0;
            for (int j = 0; j < BlockQ8_K.QK; j++)
            {
                float ax = MathF.Abs(x[j]);
                if (ax > amax)
                {
                    amax = ax;
                    max = x[j];
                }
            }
            if (amax == 0)
            {
                // ggml leaves bsums as they were; zeroing them keeps our output deterministic (d = 0 cancels them anyway).
                *blk = default;
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < BlockQ8_K.QK; j++) blk->Qs[j] = (sbyte)Math.Min(127, NearestInt(iscale * x[j]));
            for (int j = 0; j < BlockQ8_K.QK / 16; j++)
            {
                int sum = 0;
                for (int k = 0; k < 16; k++) sum += blk->Qs[j * 16 + k];
                blk->BSums[j] = (short)sum;
            }
            blk->D = 1 / iscale;
        }
    }

    // ───────────────────────────── legacy weight formats ─────────────────────────────

    /// <summary>quantize_row_q4_0_ref: d = max/−8 (max = the value of largest magnitude, signed), q = min(15, trunc(x/d + 8.5)).</summary>
    public static void Q4_0Ref(float* x, byte* y, int n)
    {
        var blocks = (BlockQ4_0*)y;
        for (int b = 0; b < n / BlockQ4_0.QK; b++, x += BlockQ4_0.QK)
        {
            float amax = 0, max = 0;
            for (int j = 0; j < BlockQ4_0.QK; j++)
            {
                if (amax < MathF.Abs(x[j]))
                {
                    amax = MathF.Abs(x[j]);
                    max = x[j];
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            blocks[b].D = Fp16.FromFloat(d);
            for (int j = 0; j < BlockQ4_0.QK / 2; j++)
            {
                int xi0 = Math.Min(15, (int)(x[j] * id + 8.5f));
                int xi1 = Math.Min(15, (int)(x[j + 16] * id + 8.5f));
                blocks[b].Qs[j] = (byte)(xi0 | (xi1 << 4));
            }
        }
    }

    /// <summary>quantize_row_q4_1_ref: d = (max − min)/15, m = min, q = min(15, trunc((x − min)/d + 0.5)).</summary>
    public static void Q4_1Ref(float* x, byte* y, int n)
    {
        var blocks = (BlockQ4_1*)y;
        for (int b = 0; b < n / BlockQ4_1.QK; b++, x += BlockQ4_1.QK)
        {
            float min = float.MaxValue, max = -float.MaxValue;
            for (int j = 0; j < BlockQ4_1.QK; j++)
            {
                if (x[j] < min) min = x[j];
                if (x[j] > max) max = x[j];
            }
            float d = (max - min) / ((1 << 4) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            blocks[b].D = Fp16.FromFloat(d);
            blocks[b].M = Fp16.FromFloat(min);
            for (int j = 0; j < BlockQ4_1.QK / 2; j++)
            {
                int xi0 = Math.Min(15, (int)((x[j] - min) * id + 0.5f));
                int xi1 = Math.Min(15, (int)((x[j + 16] - min) * id + 0.5f));
                blocks[b].Qs[j] = (byte)(xi0 | (xi1 << 4));
            }
        }
    }

    /// <summary>quantize_row_q5_0_ref: d = max/−16, q = min(31, trunc(x/d + 16.5)); bit 4 of q goes to qh.</summary>
    public static void Q5_0Ref(float* x, byte* y, int n)
    {
        var blocks = (BlockQ5_0*)y;
        for (int b = 0; b < n / BlockQ5_0.QK; b++, x += BlockQ5_0.QK)
        {
            float amax = 0, max = 0;
            for (int j = 0; j < BlockQ5_0.QK; j++)
            {
                if (amax < MathF.Abs(x[j]))
                {
                    amax = MathF.Abs(x[j]);
                    max = x[j];
                }
            }
            float d = max / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            blocks[b].D = Fp16.FromFloat(d);
            uint qh = 0;
            for (int j = 0; j < BlockQ5_0.QK / 2; j++)
            {
                int xi0 = Math.Min(31, (int)(x[j] * id + 16.5f));
                int xi1 = Math.Min(31, (int)(x[j + 16] * id + 16.5f));
                blocks[b].Qs[j] = (byte)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= (uint)((xi0 & 0x10) >> 4) << j;
                qh |= (uint)((xi1 & 0x10) >> 4) << (j + 16);
            }
            Unsafe.WriteUnaligned(blocks[b].Qh, qh);
        }
    }

    /// <summary>quantize_row_q5_1_ref: d = (max − min)/31, m = min, q = trunc((x − min)/d + 0.5); bit 4 to qh.</summary>
    public static void Q5_1Ref(float* x, byte* y, int n)
    {
        var blocks = (BlockQ5_1*)y;
        for (int b = 0; b < n / BlockQ5_1.QK; b++, x += BlockQ5_1.QK)
        {
            float min = float.MaxValue, max = -float.MaxValue;
            for (int j = 0; j < BlockQ5_1.QK; j++)
            {
                if (x[j] < min) min = x[j];
                if (x[j] > max) max = x[j];
            }
            float d = (max - min) / ((1 << 5) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            blocks[b].D = Fp16.FromFloat(d);
            blocks[b].M = Fp16.FromFloat(min);
            uint qh = 0;
            for (int j = 0; j < BlockQ5_1.QK / 2; j++)
            {
                int xi0 = (byte)((x[j] - min) * id + 0.5f);
                int xi1 = (byte)((x[j + 16] - min) * id + 0.5f);
                blocks[b].Qs[j] = (byte)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= (uint)((xi0 & 0x10) >> 4) << j;
                qh |= (uint)((xi1 & 0x10) >> 4) << (j + 16);
            }
            Unsafe.WriteUnaligned(blocks[b].Qh, qh);
        }
    }

    /// <summary>quantize_row_q8_0_ref (the weight path; activations use QuantizeQ8_0.Reference, x86's variant):
    /// d = amax/127, q = roundf(x·(1/d)) — round half away from zero and 1/d rather than 127/amax.</summary>
    public static void Q8_0Ref(float* x, byte* y, int n)
    {
        var blocks = (BlockQ8_0*)y;
        for (int b = 0; b < n / BlockQ8_0.QK; b++, x += BlockQ8_0.QK)
        {
            float amax = 0;
            for (int j = 0; j < BlockQ8_0.QK; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
            float d = amax / ((1 << 7) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            blocks[b].D = Fp16.FromFloat(d);
            for (int j = 0; j < BlockQ8_0.QK; j++) blocks[b].Qs[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        }
    }

    // ───────────────────────────── K-quant weight formats ─────────────────────────────

    /// <summary>quantize_row_q2_K_ref: per 16-element sub-block an affine fit (make_qkx2_quants, weights |x|, MAD
    /// error); scales and mins quantized to 4 bits against the largest of each; then every value re-quantized
    /// against the stored (fp16-rounded) scale and min.</summary>
    public static void Q2_KRef(float* x, byte* y, int n)
    {
        var blocks = (BlockQ2_K*)y;
        byte* L = stackalloc byte[BlockQ2_K.QK];
        byte* laux = stackalloc byte[16];
        float* weights = stackalloc float[16];
        float* mins = stackalloc float[BlockQ2_K.QK / 16];
        float* scales = stackalloc float[BlockQ2_K.QK / 16];
        const float q4scale = 15f;

        for (int i = 0; i < n / BlockQ2_K.QK; i++, x += BlockQ2_K.QK)
        {
            var blk = blocks + i;
            float maxScale = 0, maxMin = 0;   // mins are subtracted, so both are non-negative
            for (int j = 0; j < BlockQ2_K.QK / 16; j++)
            {
                for (int l = 0; l < 16; l++) weights[l] = MathF.Abs(x[16 * j + l]);
                scales[j] = MakeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, out mins[j], laux, -0.5f, 0.1f, 15, true);
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }

            if (maxScale > 0)
            {
                float iscale = q4scale / maxScale;
                for (int j = 0; j < BlockQ2_K.QK / 16; j++) blk->Scales[j] = (byte)NearestInt(iscale * scales[j]);
                blk->D = Fp16.FromFloat(maxScale / q4scale);
            }
            else
            {
                for (int j = 0; j < BlockQ2_K.QK / 16; j++) blk->Scales[j] = 0;
                blk->D = Fp16.FromFloat(0f);
            }
            if (maxMin > 0)
            {
                float iscale = q4scale / maxMin;
                for (int j = 0; j < BlockQ2_K.QK / 16; j++) blk->Scales[j] |= (byte)(NearestInt(iscale * mins[j]) << 4);
                blk->DMin = Fp16.FromFloat(maxMin / q4scale);
            }
            else
            {
                blk->DMin = Fp16.FromFloat(0f);
            }

            // Re-quantize against what a reader will see; a sub-block whose scale rounded to 0 keeps the fit's L.
            for (int j = 0; j < BlockQ2_K.QK / 16; j++)
            {
                float d = Fp16.ToFloat(blk->D) * (blk->Scales[j] & 0xF);
                if (d == 0) continue;
                float dm = Fp16.ToFloat(blk->DMin) * (blk->Scales[j] >> 4);
                for (int ii = 0; ii < 16; ii++)
                {
                    int l = NearestInt((x[16 * j + ii] + dm) / d);
                    L[16 * j + ii] = (byte)Math.Max(0, Math.Min(3, l));
                }
            }

            PackTwoBitPlanes(L, blocks[i].Qs);
        }
    }

    /// <summary>quantize_row_q3_K_ref: per 16-element sub-block a signed scale (make_q3_quants with its rmse
    /// refinement); scales quantized to 6 bits against the largest-magnitude one (−32/max); values re-quantized to
    /// −4..3 and split into 2 low bits (qs) and a high bit (hmask).</summary>
    public static void Q3_KRef(float* x, byte* y, int n)
    {
        var blocks = (BlockQ3_K*)y;
        sbyte* L = stackalloc sbyte[BlockQ3_K.QK];
        float* scales = stackalloc float[BlockQ3_K.QK / 16];

        for (int i = 0; i < n / BlockQ3_K.QK; i++, x += BlockQ3_K.QK)
        {
            var blk = blocks + i;
            float maxScale = 0, amax = 0;
            for (int j = 0; j < BlockQ3_K.QK / 16; j++)
            {
                scales[j] = MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j, true);
                float scale = MathF.Abs(scales[j]);
                if (scale > amax)
                {
                    amax = scale;
                    maxScale = scales[j];
                }
            }

            for (int k = 0; k < 12; k++) blk->Scales[k] = 0;
            if (maxScale != 0)
            {
                float iscale = -32f / maxScale;
                for (int j = 0; j < BlockQ3_K.QK / 16; j++)
                {
                    // C stores nearest_int into an int8_t first; the value is within ±32 so nothing is lost.
                    int l = (sbyte)NearestInt(iscale * scales[j]);
                    l = Math.Max(-32, Math.Min(31, l)) + 32;
                    if (j < 8) blk->Scales[j] = (byte)(l & 0xF);
                    else blk->Scales[j - 8] |= (byte)((l & 0xF) << 4);
                    l >>= 4;
                    blk->Scales[j % 4 + 8] |= (byte)(l << (2 * (j / 4)));
                }
                blk->D = Fp16.FromFloat(1 / iscale);
            }
            else
            {
                blk->D = Fp16.FromFloat(0f);
            }

            for (int j = 0; j < BlockQ3_K.QK / 16; j++)
            {
                int sc = j < 8 ? blk->Scales[j] & 0xF : blk->Scales[j - 8] >> 4;
                sc = (sbyte)((sc | (((blk->Scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
                float d = Fp16.ToFloat(blk->D) * sc;
                if (d == 0) continue;
                for (int ii = 0; ii < 16; ii++)
                {
                    int l = NearestInt(x[16 * j + ii] / d);
                    l = Math.Max(-4, Math.Min(3, l));
                    L[16 * j + ii] = (sbyte)(l + 4);
                }
            }

            // High bit of the first 32 quants into bit 0 of hmask[0..31], of the next 32 into bit 1, and so on.
            for (int k = 0; k < BlockQ3_K.QK / 8; k++) blk->HMask[k] = 0;
            int m = 0;
            byte hm = 1;
            for (int j = 0; j < BlockQ3_K.QK; j++)
            {
                if (L[j] > 3)
                {
                    blk->HMask[m] |= hm;
                    L[j] -= 4;
                }
                if (++m == BlockQ3_K.QK / 8)
                {
                    m = 0;
                    hm <<= 1;
                }
            }
            PackTwoBitPlanes((byte*)L, blocks[i].Qs);
        }
    }

    /// <summary>quantize_row_q4_K_ref: per 32-element sub-block an affine fit (make_qkx2_quants, weights
    /// rms(x) + |x|, squared error, 21 trial scales from −1 in steps of 0.1); scales and mins to 6 bits against the
    /// largest of each; values re-quantized to 0..15 against the stored scale and min.</summary>
    public static void Q4_KRef(float* x, byte* y, int n) => QuantizeQ4Q5K(x, y, n, nmax: 15, rmin: -1f, rdelta: 0.1f, nstep: 20);

    /// <summary>quantize_row_q5_K_ref: as Q4_K with 5-bit quants (0..31, 16 trial scales from −0.5); the 5th bit goes
    /// to qh.</summary>
    public static void Q5_KRef(float* x, byte* y, int n) => QuantizeQ4Q5K(x, y, n, nmax: 31, rmin: -0.5f, rdelta: 0.1f, nstep: 15);

    /// <summary>quantize_row_q6_K_ref: per 16-element sub-block a signed scale (make_qx_quants, weights x²); int8
    /// scales against the largest-magnitude one (−128/max); values re-quantized to −32..31.</summary>
    public static void Q6_KRef(float* x, byte* y, int n)
    {
        var blocks = (BlockQ6_K*)y;
        sbyte* L = stackalloc sbyte[BlockQ6_K.QK];
        float* scales = stackalloc float[BlockQ6_K.QK / 16];

        for (int i = 0; i < n / BlockQ6_K.QK; i++, x += BlockQ6_K.QK)
        {
            var blk = blocks + i;
            float maxScale = 0, maxAbsScale = 0;
            for (int ib = 0; ib < BlockQ6_K.QK / 16; ib++)
            {
                float scale = MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, 1, null);
                scales[ib] = scale;
                float absScale = MathF.Abs(scale);
                if (absScale > maxAbsScale)
                {
                    maxAbsScale = absScale;
                    maxScale = scale;
                }
            }

            if (maxAbsScale < GroupMaxEps)
            {
                *blk = default;
                blk->D = Fp16.FromFloat(0f);
                continue;
            }

            float iscale = -128f / maxScale;
            blk->D = Fp16.FromFloat(1 / iscale);
            for (int ib = 0; ib < BlockQ6_K.QK / 16; ib++) blk->Scales[ib] = (sbyte)Math.Min(127, NearestInt(iscale * scales[ib]));

            for (int j = 0; j < BlockQ6_K.QK / 16; j++)
            {
                float d = Fp16.ToFloat(blk->D) * blk->Scales[j];
                if (d == 0) continue;
                for (int ii = 0; ii < 16; ii++)
                {
                    int l = NearestInt(x[16 * j + ii] / d);
                    l = Math.Max(-32, Math.Min(31, l));
                    L[16 * j + ii] = (sbyte)(l + 32);
                }
            }

            // 128 elements per pass: ql[l] holds elements l (low) and l+64 (high), ql[l+32] elements l+32 and l+96;
            // qh[l] holds the top 2 bits of l, l+32, l+64, l+96.
            byte* ql = blocks[i].Ql;
            byte* qh = blocks[i].Qh;
            for (int j = 0; j < BlockQ6_K.QK; j += 128)
            {
                for (int l = 0; l < 32; l++)
                {
                    int q1 = L[j + l + 0] & 0xF;
                    int q2 = L[j + l + 32] & 0xF;
                    int q3 = L[j + l + 64] & 0xF;
                    int q4 = L[j + l + 96] & 0xF;
                    ql[l + 0] = (byte)(q1 | (q3 << 4));
                    ql[l + 32] = (byte)(q2 | (q4 << 4));
                    qh[l] = (byte)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
                }
                ql += 64;
                qh += 32;
            }
        }
    }

    /// <summary>Shared body of quantize_row_q4_K_ref and quantize_row_q5_K_ref (they differ in nmax, the trial scale
    /// grid and the packing of the quants).</summary>
    private static void QuantizeQ4Q5K(float* x, byte* y, int n, int nmax, float rmin, float rdelta, int nstep)
    {
        const int qk = 256;
        byte* L = stackalloc byte[qk];
        byte* laux = stackalloc byte[32];
        float* weights = stackalloc float[32];
        float* mins = stackalloc float[qk / 32];
        float* scales = stackalloc float[qk / 32];
        bool q5 = nmax == 31;
        int blockBytes = q5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);

        for (int i = 0; i < n / qk; i++, x += qk, y += blockBytes)
        {
            // Both layouts start d, dmin, scales[12]; they differ after that.
            ushort* dd = (ushort*)y;        // [0] = d, [1] = dmin
            byte* packedScales = y + 4;

            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < qk / 32; j++)
            {
                float sumX2 = 0;
                for (int l = 0; l < 32; l++) sumX2 += x[32 * j + l] * x[32 * j + l];
                float avX = MathF.Sqrt(sumX2 / 32);
                for (int l = 0; l < 32; l++) weights[l] = avX + MathF.Abs(x[32 * j + l]);
                scales[j] = MakeQkx2Quants(32, nmax, x + 32 * j, weights, L + 32 * j, out mins[j], laux, rmin, rdelta, nstep, false);
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }

            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            for (int j = 0; j < qk / 32; j++)
            {
                // C assigns nearest_int to a uint8_t (wrapping), then clamps to 63.
                byte ls = Math.Min((byte)63, (byte)NearestInt(invScale * scales[j]));
                byte lm = Math.Min((byte)63, (byte)NearestInt(invMin * mins[j]));
                if (j < 4)
                {
                    packedScales[j] = ls;
                    packedScales[j + 4] = lm;
                }
                else
                {
                    packedScales[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                    packedScales[j - 4] |= (byte)((ls >> 4) << 6);
                    packedScales[j - 0] |= (byte)((lm >> 4) << 6);
                }
            }
            dd[0] = Fp16.FromFloat(maxScale / 63f);
            dd[1] = Fp16.FromFloat(maxMin / 63f);

            for (int j = 0; j < qk / 32; j++)
            {
                KScales.ScaleMinK4(j, packedScales, out byte sc, out byte m);
                float d = Fp16.ToFloat(dd[0]) * sc;
                if (d == 0) continue;
                float dm = Fp16.ToFloat(dd[1]) * m;
                for (int ii = 0; ii < 32; ii++)
                {
                    int l = NearestInt((x[32 * j + ii] + dm) / d);
                    L[32 * j + ii] = (byte)Math.Max(0, Math.Min(nmax, l));
                }
            }

            if (!q5)
            {
                byte* q = ((BlockQ4_K*)y)->Qs;
                for (int j = 0; j < qk; j += 64, q += 32)
                {
                    for (int l = 0; l < 32; l++) q[l] = (byte)(L[j + l] | (L[j + l + 32] << 4));
                }
            }
            else
            {
                var blk = (BlockQ5_K*)y;
                byte* qh = blk->Qh;
                byte* ql = blk->Qs;
                for (int k = 0; k < qk / 8; k++) qh[k] = 0;
                byte m1 = 1, m2 = 2;
                for (int nn = 0; nn < qk; nn += 64, ql += 32)
                {
                    for (int j = 0; j < 32; j++)
                    {
                        int l1 = L[nn + j];
                        if (l1 > 15)
                        {
                            l1 -= 16;
                            qh[j] |= m1;
                        }
                        int l2 = L[nn + j + 32];
                        if (l2 > 15)
                        {
                            l2 -= 16;
                            qh[j] |= m2;
                        }
                        ql[j] = (byte)(l1 | (l2 << 4));
                    }
                    m1 <<= 2;
                    m2 <<= 2;
                }
            }
        }
    }

    /// <summary>Q2_K/Q3_K quant packing: byte l of 32-byte group g holds 2-bit values 128g + l + 32s in bits 2s.</summary>
    private static void PackTwoBitPlanes(byte* L, byte* qs)
    {
        for (int j = 0; j < 256; j += 128)
        {
            for (int l = 0; l < 32; l++)
            {
                qs[j / 4 + l] = (byte)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
            }
        }
    }

    // ───────────────────────────── ggml's scale searches ─────────────────────────────

    /// <summary>make_qx_quants: symmetric quantization of n values to L ∈ [0, 2·nmax) (stored biased by nmax) with
    /// scale search. rmse_type 0: plain −nmax/max scale; otherwise weighted least squares (weights qw, or by type:
    /// 1 x², 2 one, 3 |x|, else √|x|) refined over 18 trial scales −(nmax ± 0.1·k)/max; a negative rmse_type returns
    /// early with the average of the first fit and 1/iscale. Returns the scale.</summary>
    internal static float MakeQxQuants(int n, int nmax, float* x, sbyte* L, int rmseType, float* qw)
    {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < GroupMaxEps)
        {
            for (int i = 0; i < n; i++) L[i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        if (rmseType == 0)
        {
            for (int i = 0; i < n; i++)
            {
                int l = NearestInt(iscale * x[i]);
                L[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, l)));
            }
            return 1 / iscale;
        }
        bool returnEarly = false;
        if (rmseType < 0)
        {
            rmseType = -rmseType;
            returnEarly = true;
        }
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = NearestInt(iscale * x[i]);
            l = Math.Max(-nmax, Math.Min(nmax - 1, l));
            L[i] = (sbyte)(l + nmax);
            float w = QxWeight(qw, rmseType, x, i);
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        if (returnEarly) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
        float best = scale * sumlx;
        for (int k = -9; k <= 9; k++)
        {
            if (k == 0) continue;
            iscale = -(nmax + 0.1f * k) / max;
            sumlx = suml2 = 0;
            for (int i = 0; i < n; i++)
            {
                int l = NearestInt(iscale * x[i]);
                l = Math.Max(-nmax, Math.Min(nmax - 1, l));
                float w = QxWeight(qw, rmseType, x, i);
                sumlx += w * x[i] * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                for (int i = 0; i < n; i++)
                {
                    int l = NearestInt(iscale * x[i]);
                    L[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, l)));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float QxWeight(float* qw, int rmseType, float* x, int i) =>
        qw != null ? qw[i] : rmseType == 1 ? x[i] * x[i] : rmseType == 2 ? 1 : rmseType == 3 ? MathF.Abs(x[i]) : MathF.Sqrt(MathF.Abs(x[i]));

    /// <summary>make_q3_quants: symmetric quantization to [−nmax, nmax) (stored biased by nmax). With do_rmse, starts
    /// from −nmax/max and then moves single values to the level that improves the x²-weighted least-squares fit, up to
    /// 5 sweeps; returns the fitted scale.</summary>
    internal static float MakeQ3Quants(int n, int nmax, float* x, sbyte* L, bool doRmse)
    {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < GroupMaxEps)
        {
            for (int i = 0; i < n; i++) L[i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        if (doRmse)
        {
            float sumlx = 0, suml2 = 0;
            for (int i = 0; i < n; i++)
            {
                int l = NearestInt(iscale * x[i]);
                l = Math.Max(-nmax, Math.Min(nmax - 1, l));
                L[i] = (sbyte)l;
                float w = x[i] * x[i];
                sumlx += w * x[i] * l;
                suml2 += w * l * l;
            }
            for (int itry = 0; itry < 5; itry++)
            {
                int nChanged = 0;
                for (int i = 0; i < n; i++)
                {
                    float w = x[i] * x[i];
                    float slx = sumlx - w * x[i] * L[i];
                    if (slx > 0)
                    {
                        float sl2 = suml2 - w * L[i] * L[i];
                        int newL = NearestInt(x[i] * sl2 / slx);
                        newL = Math.Max(-nmax, Math.Min(nmax - 1, newL));
                        if (newL != L[i])
                        {
                            slx += w * x[i] * newL;
                            sl2 += w * newL * newL;
                            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2)
                            {
                                L[i] = (sbyte)newL;
                                sumlx = slx;
                                suml2 = sl2;
                                nChanged++;
                            }
                        }
                    }
                }
                if (nChanged == 0) break;
            }
            for (int i = 0; i < n; i++) L[i] += (sbyte)nmax;
            return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
        }
        for (int i = 0; i < n; i++)
        {
            int l = NearestInt(iscale * x[i]);
            l = Math.Max(-nmax, Math.Min(nmax - 1, l));
            L[i] = (sbyte)(l + nmax);
        }
        return 1 / iscale;
    }

    /// <summary>make_qkx2_quants: affine quantization x ≈ scale·L − theMin, L ∈ [0, nmax], min clamped to ≤ 0. Starts
    /// from the min/max grid, then tries iscale = (rmin + rdelta·k + nmax)/(max − min) for k = 0..nstep, each with
    /// the weighted least-squares scale and min for its levels, keeping the one of least weighted error (absolute
    /// when useMad, else squared). Returns the scale; theMin is the (non-negative) amount to subtract.</summary>
    internal static float MakeQkx2Quants(int n, int nmax, float* x, float* weights, byte* L, out float theMin, byte* laux,
        float rmin, float rdelta, int nstep, bool useMad)
    {
        float min = x[0], max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min) min = x[i];
            if (x[i] > max) max = x[i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0) min = 0;
        if (max == min)
        {
            for (int i = 0; i < n; i++) L[i] = 0;
            theMin = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++)
        {
            int l = NearestInt(iscale * (x[i] - min));
            L[i] = (byte)Math.Max(0, Math.Min(nmax, l));
            float diff = scale * L[i] + min - x[i];
            diff = useMad ? MathF.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        if (nstep < 1)
        {
            theMin = -min;
            return scale;
        }
        for (int k = 0; k <= nstep; k++)
        {
            iscale = (rmin + rdelta * k + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++)
            {
                int l = NearestInt(iscale * (x[i] - min));
                l = Math.Max(0, Math.Min(nmax, l));
                laux[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; i++)
                {
                    float diff = thisScale * laux[i] + thisMin - x[i];
                    diff = useMad ? MathF.Abs(diff) : diff * diff;
                    curError += weights[i] * diff;
                }
                if (curError < bestError)
                {
                    for (int i = 0; i < n; i++) L[i] = laux[i];
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin = -min;
        return scale;
    }
}
