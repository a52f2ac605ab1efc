// Output bits tied to constants and an output bit equal to an input: Yosys writes these as
// one concatenation assignment, which OpenSTA's reader rejects unless it is split.
module tied_outputs (
    input wire clk,
    input wire [7:0] a,
    input wire [7:0] b,
    output wire [15:0] y,
    output wire [1:0] z
);
  reg [7:0] sum;
  always @(posedge clk) sum <= a + b;
  assign y = {4'b0000, sum, 2'b10, a[1:0]};
  assign z = {a[7], 1'b1};
endmodule
