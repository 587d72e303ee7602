using System;

namespace Dsl;

/// <summary>
/// A safetensors file could not be loaded into a model: it is malformed, truncated, or does not match the
/// model's tensors. The message names the file and, where there is one, the tensor. A failed load leaves
/// the model's parameters unchanged.
/// </summary>
public sealed class SafeTensorsException : Exception
{
    /// <summary>Creates the exception with a message that names the file and tensor.</summary>
    public SafeTensorsException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it (e.g. a JSON parse error).</summary>
    public SafeTensorsException(string message, Exception innerException) : base(message, innerException) { }
}
