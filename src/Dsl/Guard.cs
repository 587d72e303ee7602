using System;

namespace Dsl;

/// <summary>Argument checks shared by the public entry points of generated networks.</summary>
public static class Guard
{
    /// <summary>Throws unless <paramref name="span"/> holds exactly <paramref name="expected"/> floats.</summary>
    public static void Length(ReadOnlySpan<float> span, int expected, string name)
    {
        if (span.Length != expected)
            throw new ArgumentException($"{name} must hold {expected} floats, but holds {span.Length}.", name);
    }

    /// <summary>Throws unless <paramref name="batch"/> is positive and <paramref name="span"/> holds <paramref name="batch"/> × <paramref name="perSample"/> floats.</summary>
    public static void BatchLength(ReadOnlySpan<float> span, int perSample, int batch, string name)
    {
        if (batch <= 0)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, "Batch must be positive.");
        if (span.Length != (long)perSample * batch)
            throw new ArgumentException($"{name} must hold {batch} × {perSample} = {(long)perSample * batch} floats, but holds {span.Length}.", name);
    }
}
