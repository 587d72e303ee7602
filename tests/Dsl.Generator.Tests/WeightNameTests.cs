namespace Dsl.Generator.Tests;

public class WeightNameTests
{
    [Theory]
    [InlineData("Fc1", "fc1")]
    [InlineData("OutProj", "out_proj")]
    [InlineData("HTTPLayer", "http_layer")]
    [InlineData("Conv2", "conv2")]
    [InlineData("A", "a")]
    [InlineData("Head", "head")]
    [InlineData("Fc_Out", "fc_out")]
    [InlineData("FcOut", "fc_out")]
    [InlineData("Layer2Norm", "layer2_norm")]
    public void WeightName_IsPyTorchStyleSnakeCase(string memberName, string expected) =>
        Assert.Equal(expected, NetworkGenerator.Parser.WeightName(memberName));
}
