// fp16/bf16 ⇄ fp32 on whole vectors with integer operations (.NET 9 exposes no F16C), bit-exact with Fp16's scalar
// conversions for every input, NaN payloads included (checked exhaustively by the tests).
//
// Widening takes y with the half in the top 16 bits of a 32-bit lane; the low 16 bits are ignored, so a 32-bit load
// of two halves serves as is for the odd element and `<< 16` gives the even one (and for bf16 that is already the
// fp32 value). For fp16:
//   (y >>> 3) & 0x0fffe000       exponent and mantissa land on fp32's fields (bias still 15); the sign is or-ed
//                                back from bit 31 at the end
//   exponent 1..30               + (112 << 23) rebiases 15 → 127 (integer add, exact)
//   exponent 0 (subnormal)       m·2^-24 = (2^-14 + m·2^-24) − 2^-14: the fields + 2^-14's bits, minus 2^-14
//                                (exact: both operands are normal and within a factor of two)
//   exponent 31 (inf/NaN)        the fields | 0x7f800000, and a NaN gets the quiet bit, as (float)Half does.
// No float operation here ever sees a subnormal operand: Zen 4 takes a microcode assist for each one (a former
// "fields × 2^112" version spent half of a Q6_K decode in it, as Q6_K super-block scales are often fp16 subnormals).
// Narrowing (fp32 → fp16, round to nearest even like the (Half) cast):
//   |x| ≥ 2^-14    add 0xfff + the kept lsb to the 13 dropped bits, then rebias 127 → 15 (a carry rounds up the
//                  exponent, 65520 and above reach 0x7c00 = inf by themselves until the clamp below)
//   |x| < 2^-14    |x| + 0.5f: fp32's ulp at 0.5 is 2^-24, the fp16 subnormal step, so the FPU's own RNE rounds
//   |x| ≥ 65520    0x7c00 (inf); NaN → 0x7e00 | top mantissa bits (quiet), as the (Half) cast gives.
// Callers guard the ISA; these helpers use only explicit-width Vector128/256/512 operators and are inlined into
// the guarded kernels.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels.Quants;

internal static class Fp16Vector
{
    private const int FieldMask = unchecked((int)0x8fffe000);   // sign | fp16 exponent and mantissa after >> 3
    private const int MagMask = 0x0fffe000;                      // fp16 exponent and mantissa after >>> 3
    private const int SignBit = unchecked((int)0x80000000);
    private const int InfMag = 0x0f800000;                       // fp16 exponent 31 after >>> 3
    private const int MinExponent = 0x00800000;                  // fp16 exponent 1 after >>> 3
    private const int Pow2_112 = 0x77800000;                     // 2^112 as fp32 bits
    private const int HalfInfHi = 0x7c000000;                    // fp16 +inf, in the top half of a lane
    private const int F32Inf = 0x7f800000;
    private const int QuietBit = 0x00400000;
    private const int MinNormal = 0x38800000;                    // 2^-14, smallest normal fp16, as fp32 bits
    private const int Overflow = 0x477ff000;                     // 65520: rounds to fp16 inf
    private const int Rebias = 0x38000000;                       // (127 - 15) << 23
    private const int Half05 = 0x3f000000;                       // 0.5f
    private const int MagicStep = 0x06c00000;                    // + 13 to the exponent, mantissa 1.5
    /// <summary>fp32's exponent field.</summary>
    public const int ExponentBits = 0x7f800000;
    /// <summary>32768's exponent bits: RoundToHalfSmall serves lanes whose exponent bits are below it.</summary>
    public const int Below32768Limit = 0x47000000;

    // ---- Vector512 ------------------------------------------------------------------------------------------

    /// <summary>fp16 in the top half of each lane (low half ignored) → fp32, exactly as Fp16.ToFloat.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> HalfHiToSingle(Vector512<int> y)
    {
        var mag = (y >>> 3) & Vector512.Create(MagMask);
        var special = Vector512.GreaterThanOrEqual(mag, Vector512.Create(InfMag));
        var quiet = Vector512.GreaterThan(mag, Vector512.Create(InfMag)) & Vector512.Create(QuietBit);
        var f = Vector512.ConditionalSelect(special, mag | Vector512.Create(F32Inf) | quiet, Finite(mag));
        return (f | (y & Vector512.Create(SignBit))).AsSingle();
    }

    /// <summary>Only for arithmetic: like HalfHiToSingle but a NaN keeps a signalling payload (any later fma makes it
    /// a NaN all the same); ±inf and every finite value are exact.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> HalfHiToSingleArith(Vector512<int> y)
    {
        var mag = (y >>> 3) & Vector512.Create(MagMask);
        var special = Vector512.GreaterThanOrEqual(mag, Vector512.Create(InfMag));
        var f = Vector512.ConditionalSelect(special, mag | Vector512.Create(F32Inf), Finite(mag));
        return (f | (y & Vector512.Create(SignBit))).AsSingle();
    }

    /// <summary>fp32 bits of a finite fp16 magnitude whose fields sit on fp32's (see the file comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Finite(Vector512<int> mag)
    {
        var subnormal = ((mag + Vector512.Create(MinNormal)).AsSingle() - Vector512.Create(MinNormal).AsSingle()).AsInt32();
        return Vector512.ConditionalSelect(Vector512.LessThan(mag, Vector512.Create(MinExponent)), subnormal, mag + Vector512.Create(Rebias));
    }

    /// <summary>h · 2^-112 from the top-half fp16 fields alone (no multiply): exact for every finite h (an fp16
    /// subnormal becomes an fp32 subnormal); inf/NaN come out finite, so callers must rule them out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> HalfHiScaledDown(Vector512<int> y) => ((y >> 3) & Vector512.Create(FieldMask)).AsSingle();

    /// <summary>h · 2^112, exact for every finite h (|h| ≤ 65504 keeps it below 2^128); inf and NaN become ±inf.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> HalfHiScaledUp(Vector512<int> y)
    {
        var k = Vector512.Create(Pow2_112).AsSingle();
        return HalfHiScaledDown(y) * k * k;
    }

    /// <summary>fp32 → fp16 bits in the low half of each lane (upper half zero), exactly as Fp16.FromFloat.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> SingleToHalf(Vector512<float> x)
    {
        var u = x.AsInt32();
        var a = u & Vector512.Create(0x7fffffff);
        var normal = (a + Vector512.Create(0xfff) + ((a >>> 13) & Vector512<int>.One) - Vector512.Create(Rebias)) >>> 13;
        var sub = (a.AsSingle() + Vector512.Create(Half05).AsSingle()).AsInt32() - Vector512.Create(Half05);
        var r = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(MinNormal)), sub, normal);
        r = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(a, Vector512.Create(Overflow)), Vector512.Create(0x7c00), r);
        var nan = ((a >>> 13) & Vector512.Create(0x3ff)) | Vector512.Create(0x7e00);
        r = Vector512.ConditionalSelect(Vector512.GreaterThan(a, Vector512.Create(F32Inf)), nan, r);
        return r | ((u >>> 16) & Vector512.Create(0x8000));
    }

    /// <summary>x rounded to the nearest fp16 value (ties to even) and kept as fp32, exactly as Fp16.Round: the
    /// narrowing above without the repacking, so an fp16 accumulator can live in fp32 registers. When no lane is an
    /// fp16 subnormal, overflow, inf or NaN (the usual case) only the mantissa rounding runs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> RoundToHalf(Vector512<float> x)
    {
        var u = x.AsInt32();
        var a = u & Vector512.Create(0x7fffffff);
        var rounded = (u + Vector512.Create(0xfff) + ((u >>> 13) & Vector512<int>.One)) & Vector512.Create(~0x1fff);
        if (Vector512.GreaterThanOrEqualAll((a - Vector512<int>.One).AsUInt32(), Vector512.Create((uint)MinNormal - 1)) &&
            Vector512.LessThanAll(a, Vector512.Create(Overflow)))
        {
            return rounded.AsSingle();   // every lane zero or a normal fp16 value: no sign carry, no special case
        }
        var normal = rounded & Vector512.Create(0x7fffffff);
        var half = Vector512.Create(Half05).AsSingle();
        var sub = ((a.AsSingle() + half) - half).AsInt32();
        var r = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(MinNormal)), sub, normal);
        r = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(a, Vector512.Create(Overflow)), Vector512.Create(F32Inf), r) | (u & Vector512.Create(SignBit));
        var nan = (u & Vector512.Create(~0x1fff)) | Vector512.Create(QuietBit);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(a, Vector512.Create(F32Inf)), nan, r).AsSingle();
    }

    /// <summary>RoundToHalf for lanes with |x| &lt; 32768 (and NaN-free), given ex = x's exponent bits
    /// (x &amp; ExponentBits), with no branch: (x + M) − M with M = 1.5·2^(e+13), e = max(x's exponent, −14). x + M
    /// stays in M's binade, whose fp32 ulp 2^(e−10) is fp16's step at x (fp16 subnormals included, where M = 0.75), so
    /// the FPU's round-to-nearest-even rounds x to fp16 (M is an even number of those steps, so ties go to even) and
    /// the subtraction is exact; or-ing x's sign back keeps −0. Larger lanes, whose rounding may reach fp16's inf, are
    /// the caller's to detect (ex ≥ Below32768Limit) and hand to RoundToHalf.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> RoundToHalfSmall(Vector512<float> x, Vector512<int> ex)
    {
        var m = (Vector512.Max(ex, Vector512.Create(MinNormal)) + Vector512.Create(MagicStep)).AsSingle();
        return (((x + m) - m).AsInt32() | (x.AsInt32() & Vector512.Create(SignBit))).AsSingle();
    }

    /// <summary>fp32 → bf16 bits in the low half of each lane, exactly as Fp16.FloatToBF16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> SingleToBF16(Vector512<float> x)
    {
        var u = x.AsInt32();
        var rne = (u + Vector512.Create(0x7fff) + ((u >>> 16) & Vector512<int>.One)) >>> 16;
        var nan = (u >>> 16) | Vector512.Create(64);
        var isNan = Vector512.GreaterThan(u & Vector512.Create(0x7fffffff), Vector512.Create(F32Inf));
        return Vector512.ConditionalSelect(isNan, nan, rne);
    }

    // ---- Vector256 ------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HalfHiToSingle(Vector256<int> y)
    {
        var mag = (y >>> 3) & Vector256.Create(MagMask);
        var special = Vector256.GreaterThanOrEqual(mag, Vector256.Create(InfMag));
        var quiet = Vector256.GreaterThan(mag, Vector256.Create(InfMag)) & Vector256.Create(QuietBit);
        var f = Vector256.ConditionalSelect(special, mag | Vector256.Create(F32Inf) | quiet, Finite(mag));
        return (f | (y & Vector256.Create(SignBit))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HalfHiToSingleArith(Vector256<int> y)
    {
        var mag = (y >>> 3) & Vector256.Create(MagMask);
        var special = Vector256.GreaterThanOrEqual(mag, Vector256.Create(InfMag));
        var f = Vector256.ConditionalSelect(special, mag | Vector256.Create(F32Inf), Finite(mag));
        return (f | (y & Vector256.Create(SignBit))).AsSingle();
    }

    /// <summary>HalfHiToSingleArith with a shortcut for the usual case, every lane a normal fp16 (exponent 1..30): then
    /// the fields and the sign only need the rebias, one integer add ((y &gt;&gt; 3) keeps the sign in bit 31 and the add
    /// cannot reach it). Zeros, subnormals, infinities and NaNs take the full conversion.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HalfHiToSingleArithNormalFirst(Vector256<int> y)
    {
        var v = (y >> 3) & Vector256.Create(FieldMask);
        var mag = (v & Vector256.Create(MagMask)).AsUInt32();
        if (Vector256.LessThanAll(mag - Vector256.Create((uint)MinExponent), Vector256.Create((uint)(InfMag - MinExponent))))
        {
            return (v + Vector256.Create(Rebias)).AsSingle();
        }
        return HalfHiToSingleArith(y);
    }

    /// <summary>fp32 bits of a finite fp16 magnitude whose fields sit on fp32's (see the file comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Finite(Vector256<int> mag)
    {
        var subnormal = ((mag + Vector256.Create(MinNormal)).AsSingle() - Vector256.Create(MinNormal).AsSingle()).AsInt32();
        return Vector256.ConditionalSelect(Vector256.LessThan(mag, Vector256.Create(MinExponent)), subnormal, mag + Vector256.Create(Rebias));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HalfHiScaledDown(Vector256<int> y) => ((y >> 3) & Vector256.Create(FieldMask)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HalfHiScaledUp(Vector256<int> y)
    {
        var k = Vector256.Create(Pow2_112).AsSingle();
        return HalfHiScaledDown(y) * k * k;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SingleToHalf(Vector256<float> x)
    {
        var u = x.AsInt32();
        var a = u & Vector256.Create(0x7fffffff);
        var normal = (a + Vector256.Create(0xfff) + ((a >>> 13) & Vector256<int>.One) - Vector256.Create(Rebias)) >>> 13;
        var sub = (a.AsSingle() + Vector256.Create(Half05).AsSingle()).AsInt32() - Vector256.Create(Half05);
        var r = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(MinNormal)), sub, normal);
        r = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(a, Vector256.Create(Overflow)), Vector256.Create(0x7c00), r);
        var nan = ((a >>> 13) & Vector256.Create(0x3ff)) | Vector256.Create(0x7e00);
        r = Vector256.ConditionalSelect(Vector256.GreaterThan(a, Vector256.Create(F32Inf)), nan, r);
        return r | ((u >>> 16) & Vector256.Create(0x8000));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> RoundToHalf(Vector256<float> x)
    {
        var u = x.AsInt32();
        var a = u & Vector256.Create(0x7fffffff);
        var rounded = (u + Vector256.Create(0xfff) + ((u >>> 13) & Vector256<int>.One)) & Vector256.Create(~0x1fff);
        if (Vector256.GreaterThanOrEqualAll((a - Vector256<int>.One).AsUInt32(), Vector256.Create((uint)MinNormal - 1)) &&
            Vector256.LessThanAll(a, Vector256.Create(Overflow)))
        {
            return rounded.AsSingle();   // every lane zero or a normal fp16 value: no sign carry, no special case
        }
        var normal = rounded & Vector256.Create(0x7fffffff);
        var half = Vector256.Create(Half05).AsSingle();
        var sub = ((a.AsSingle() + half) - half).AsInt32();
        var r = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(MinNormal)), sub, normal);
        r = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(a, Vector256.Create(Overflow)), Vector256.Create(F32Inf), r) | (u & Vector256.Create(SignBit));
        var nan = (u & Vector256.Create(~0x1fff)) | Vector256.Create(QuietBit);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(a, Vector256.Create(F32Inf)), nan, r).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SingleToBF16(Vector256<float> x)
    {
        var u = x.AsInt32();
        var rne = (u + Vector256.Create(0x7fff) + ((u >>> 16) & Vector256<int>.One)) >>> 16;
        var nan = (u >>> 16) | Vector256.Create(64);
        var isNan = Vector256.GreaterThan(u & Vector256.Create(0x7fffffff), Vector256.Create(F32Inf));
        return Vector256.ConditionalSelect(isNan, nan, rne);
    }

    // ---- Vector128 ------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> HalfHiToSingle(Vector128<int> y)
    {
        var mag = (y >>> 3) & Vector128.Create(MagMask);
        var special = Vector128.GreaterThanOrEqual(mag, Vector128.Create(InfMag));
        var quiet = Vector128.GreaterThan(mag, Vector128.Create(InfMag)) & Vector128.Create(QuietBit);
        var f = Vector128.ConditionalSelect(special, mag | Vector128.Create(F32Inf) | quiet, Finite(mag));
        return (f | (y & Vector128.Create(SignBit))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> HalfHiToSingleArith(Vector128<int> y)
    {
        var mag = (y >>> 3) & Vector128.Create(MagMask);
        var special = Vector128.GreaterThanOrEqual(mag, Vector128.Create(InfMag));
        var f = Vector128.ConditionalSelect(special, mag | Vector128.Create(F32Inf), Finite(mag));
        return (f | (y & Vector128.Create(SignBit))).AsSingle();
    }

    /// <summary>(fp32 of the fp16 at p, fp32 of the fp16 at p + 2, 0, 0): two adjacent fp16 fields (a K-quant block's
    /// d and dmin) from one 32-bit load.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector128<float> HalfPairToSingle(byte* p)
    {
        int both = *(int*)p;   // the first fp16 in the low half, the second in the high half
        return HalfHiToSingleArith(Vector128.Create(both << 16, both, 0, 0));
    }

    /// <summary>fp32 bits of a finite fp16 magnitude whose fields sit on fp32's (see the file comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Finite(Vector128<int> mag)
    {
        var subnormal = ((mag + Vector128.Create(MinNormal)).AsSingle() - Vector128.Create(MinNormal).AsSingle()).AsInt32();
        return Vector128.ConditionalSelect(Vector128.LessThan(mag, Vector128.Create(MinExponent)), subnormal, mag + Vector128.Create(Rebias));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> HalfHiScaledDown(Vector128<int> y) => ((y >> 3) & Vector128.Create(FieldMask)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> HalfHiScaledUp(Vector128<int> y)
    {
        var k = Vector128.Create(Pow2_112).AsSingle();
        return HalfHiScaledDown(y) * k * k;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> SingleToHalf(Vector128<float> x)
    {
        var u = x.AsInt32();
        var a = u & Vector128.Create(0x7fffffff);
        var normal = (a + Vector128.Create(0xfff) + ((a >>> 13) & Vector128<int>.One) - Vector128.Create(Rebias)) >>> 13;
        var sub = (a.AsSingle() + Vector128.Create(Half05).AsSingle()).AsInt32() - Vector128.Create(Half05);
        var r = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(MinNormal)), sub, normal);
        r = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(a, Vector128.Create(Overflow)), Vector128.Create(0x7c00), r);
        var nan = ((a >>> 13) & Vector128.Create(0x3ff)) | Vector128.Create(0x7e00);
        r = Vector128.ConditionalSelect(Vector128.GreaterThan(a, Vector128.Create(F32Inf)), nan, r);
        return r | ((u >>> 16) & Vector128.Create(0x8000));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> RoundToHalf(Vector128<float> x)
    {
        var u = x.AsInt32();
        var a = u & Vector128.Create(0x7fffffff);
        var rounded = (u + Vector128.Create(0xfff) + ((u >>> 13) & Vector128<int>.One)) & Vector128.Create(~0x1fff);
        if (Vector128.GreaterThanOrEqualAll((a - Vector128<int>.One).AsUInt32(), Vector128.Create((uint)MinNormal - 1)) &&
            Vector128.LessThanAll(a, Vector128.Create(Overflow)))
        {
            return rounded.AsSingle();   // every lane zero or a normal fp16 value: no sign carry, no special case
        }
        var normal = rounded & Vector128.Create(0x7fffffff);
        var half = Vector128.Create(Half05).AsSingle();
        var sub = ((a.AsSingle() + half) - half).AsInt32();
        var r = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(MinNormal)), sub, normal);
        r = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(a, Vector128.Create(Overflow)), Vector128.Create(F32Inf), r) | (u & Vector128.Create(SignBit));
        var nan = (u & Vector128.Create(~0x1fff)) | Vector128.Create(QuietBit);
        return Vector128.ConditionalSelect(Vector128.GreaterThan(a, Vector128.Create(F32Inf)), nan, r).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> SingleToBF16(Vector128<float> x)
    {
        var u = x.AsInt32();
        var rne = (u + Vector128.Create(0x7fff) + ((u >>> 16) & Vector128<int>.One)) >>> 16;
        var nan = (u >>> 16) | Vector128.Create(64);
        var isNan = Vector128.GreaterThan(u & Vector128.Create(0x7fffffff), Vector128.Create(F32Inf));
        return Vector128.ConditionalSelect(isNan, nan, rne);
    }
}
