// Metadata values of a GGUF file: a type tag plus the decoded value, kept with its exact on-disk type so that
// writing a file back reproduces it byte for byte.
namespace LlamaAot.Gguf;

/// <summary>GGUF metadata value types (gguf_type in ggml's gguf.h).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
}

public static class GgufValueTypes
{
    public static bool IsDefined(uint id) => id <= (uint)GgufValueType.Float64;

    /// <summary>Bytes of one scalar on disk; 0 for strings and arrays, whose size depends on content.</summary>
    public static int ScalarSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };

    /// <summary>The fewest bytes one element of this type can take, used to bound counts read from a file.</summary>
    public static int MinEncodedSize(GgufValueType type) => type switch
    {
        GgufValueType.String => 8,                 // u64 length, possibly empty
        GgufValueType.Array => 12,                 // u32 element type + u64 count
        _ => ScalarSize(type),
    };

    public static string Name(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => "u8", GgufValueType.Int8 => "i8", GgufValueType.UInt16 => "u16", GgufValueType.Int16 => "i16",
        GgufValueType.UInt32 => "u32", GgufValueType.Int32 => "i32", GgufValueType.Float32 => "f32", GgufValueType.Bool => "bool",
        GgufValueType.String => "str", GgufValueType.Array => "arr", GgufValueType.UInt64 => "u64", GgufValueType.Int64 => "i64",
        GgufValueType.Float64 => "f64", _ => $"type {(uint)type}",
    };
}

/// <summary>An array value: its element type and the elements as a typed .NET array
/// (byte[], sbyte[], ushort[], short[], uint[], int[], float[], bool[], string[], GgufArray[], ulong[], long[], double[]).</summary>
public sealed class GgufArray
{
    public GgufArray(GgufValueType elementType, Array items)
    {
        ElementType = elementType;
        Items = items;
    }

    public GgufValueType ElementType { get; }
    public Array Items { get; }
    public int Count => Items.Length;

    public T[] As<T>() => Items as T[] ?? throw new InvalidCastException($"array of {GgufValueTypes.Name(ElementType)} is not {typeof(T).Name}[]");
}

/// <summary>One metadata value with its on-disk type.</summary>
public readonly record struct GgufValue(GgufValueType Type, object Value)
{
    public static GgufValue Of(string s) => new(GgufValueType.String, s);
    public static GgufValue Of(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue Of(int v) => new(GgufValueType.Int32, v);
    public static GgufValue Of(ulong v) => new(GgufValueType.UInt64, v);
    public static GgufValue Of(float v) => new(GgufValueType.Float32, v);
    public static GgufValue Of(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue Of(GgufArray a) => new(GgufValueType.Array, a);

    /// <summary>Integer value of any integer type, for keys that writers store with varying widths.</summary>
    public bool TryGetInteger(out long value)
    {
        switch (Value)
        {
            case byte b: value = b; return true;
            case sbyte sb: value = sb; return true;
            case ushort us: value = us; return true;
            case short s: value = s; return true;
            case uint ui: value = ui; return true;
            case int i: value = i; return true;
            case long l: value = l; return true;
            case ulong ul when ul <= long.MaxValue: value = (long)ul; return true;
            default: value = 0; return false;
        }
    }

    public override string ToString() => Value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        GgufArray a => $"[{GgufValueTypes.Name(a.ElementType)} x {a.Count}]",
        _ => Convert.ToString(Value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
