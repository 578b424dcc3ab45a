// The C library's expf, which llama.cpp's flash attention calls once per score (and MathF.Exp calls on Linux), on
// eight lanes at once. glibc (2.27 and later) computes expf in double: with N = 32 and k = round(x·N/ln2),
// r = x·N/ln2 − k, e^x = 2^(k/N) · (1 + C2·r + C1·r² + C0·r³), 2^(k/N) = 2^(k mod N / N) · 2^⌊k/N⌋ from a table of
// 2^(i/32); the double result is rounded once to float. Its FMA build (the one an x86 CPU with FMA runs) fuses
// x·N/ln2 + shift, x·N/ln2 − k and the three polynomial steps; Avx512 repeats exactly those operations, so it
// returns MathF.Exp's bits for every x in the table-driven range (|x| < 88). Lanes outside it (and inf/NaN) are
// redone by MathF.Exp. The tests compare every float in [−104, 0] and samples above with MathF.Exp.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Ops;

internal static unsafe class ExpLibm
{
    private const int TableBits = 5;
    private static readonly double InvLn2N = BitConverter.UInt64BitsToDouble(0x40471547652B82FE);  // 0x1.71547652b82fep5 = N/ln2
    private static readonly double Shift = BitConverter.UInt64BitsToDouble(0x4338000000000000);    // 0x1.8p52: adding it rounds to an integer
    private static readonly double C0 = BitConverter.UInt64BitsToDouble(0x3EBC6AF84B912394);      // 0x1.c6af84b912394p-20
    private static readonly double C1 = BitConverter.UInt64BitsToDouble(0x3F2EBFCE50FAC4F3);      // 0x1.ebfce50fac4f3p-13
    private static readonly double C2 = BitConverter.UInt64BitsToDouble(0x3F962E42FF0C52D6);      // 0x1.62e42ff0c52d6p-6

    /// <summary>2^(i/32) for i &lt; 32, each the double nearest to it (checked by the tests).</summary>
    internal static readonly ulong[] Pow2Table =
    [
        0x3FF0000000000000, 0x3FF059B0D3158574, 0x3FF0B5586CF9890F, 0x3FF11301D0125B51,
        0x3FF172B83C7D517B, 0x3FF1D4873168B9AA, 0x3FF2387A6E756238, 0x3FF29E9DF51FDEE1,
        0x3FF306FE0A31B715, 0x3FF371A7373AA9CB, 0x3FF3DEA64C123422, 0x3FF44E086061892D,
        0x3FF4BFDAD5362A27, 0x3FF5342B569D4F82, 0x3FF5AB07DD485429, 0x3FF6247EB03A5585,
        0x3FF6A09E667F3BCD, 0x3FF71F75E8EC5F74, 0x3FF7A11473EB0187, 0x3FF82589994CCE13,
        0x3FF8ACE5422AA0DB, 0x3FF93737B0CDC5E5, 0x3FF9C49182A3F090, 0x3FFA5503B23E255D,
        0x3FFAE89F995AD3AD, 0x3FFB7F76F2FB5E47, 0x3FFC199BDD85529C, 0x3FFCB720DCEF9069,
        0x3FFD5818DCFBA487, 0x3FFDFC97337B9B5F, 0x3FFEA4AFA2A490DA, 0x3FFF50765B6E4540,
    ];

    private static readonly Vector512<ulong> T0 = Vector512.Create(Pow2Table.AsSpan(0, 8));
    private static readonly Vector512<ulong> T1 = Vector512.Create(Pow2Table.AsSpan(8, 8));
    private static readonly Vector512<ulong> T2 = Vector512.Create(Pow2Table.AsSpan(16, 8));
    private static readonly Vector512<ulong> T3 = Vector512.Create(Pow2Table.AsSpan(24, 8));

    /// <summary>y[i] = MathF.Exp(x[i]) for i &lt; n, bit for bit; reads and writes whole groups of eight, so both
    /// buffers must hold n rounded up to a multiple of 8. Needs AVX-512F (the caller checks).</summary>
    public static void Avx512(float* x, float* y, int n)
    {
        for (int i = 0; i < n; i += 8)
        {
            var xf = Vector256.Load(x + i);
            Avx512Lanes(xf).Store(y + i);
            // |x| ≥ 88 (by the top 12 bits, as glibc tests it), inf and NaN: the C library's special cases.
            var top = (xf.AsUInt32() >>> 20) & Vector256.Create(0x7ffu);
            uint special = Vector256.GreaterThanOrEqual(top, Vector256.Create(0x42bu)).ExtractMostSignificantBits();
            while (special != 0)
            {
                int lane = System.Numerics.BitOperations.TrailingZeroCount(special);
                special &= special - 1;
                if (i + lane < n) y[i + lane] = MathF.Exp(x[i + lane]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Avx512Lanes(Vector256<float> xf)
    {
        var xd = Avx512F.ConvertToVector512Double(xf);
        var inv = Vector512.Create(InvLn2N);
        var shift = Vector512.Create(Shift);
        var z = Avx512F.FusedMultiplyAdd(inv, xd, shift);                 // k + shift
        var ki = z.AsUInt64();
        var kd = z - shift;
        var r = Avx512F.FusedMultiplySubtract(inv, xd, kd);               // x·N/ln2 − k, fused
        var idx = ki & Vector512.Create(31UL);
        var low = Avx512F.PermuteVar8x64x2(T0, idx, T1);                  // entries 0..15 by index bits 0-3
        var high = Avx512F.PermuteVar8x64x2(T2, idx, T3);                 // entries 16..31
        var t = Vector512.ConditionalSelect(Vector512.Equals(ki & Vector512.Create(16UL), Vector512<ulong>.Zero), low, high);
        var s = (t + ((ki & Vector512.Create(~31UL)) << (52 - TableBits))).AsDouble();   // 2^(i/32) · 2^⌊k/32⌋
        var p = Avx512F.FusedMultiplyAdd(Vector512.Create(C0), r, Vector512.Create(C1));
        var r2 = r * r;
        var q = Avx512F.FusedMultiplyAdd(Vector512.Create(C2), r, Vector512<double>.One);
        var e = Avx512F.FusedMultiplyAdd(p, r2, q) * s;
        return Avx512F.ConvertToVector256Single(e);
    }
}
