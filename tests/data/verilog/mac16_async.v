// 16-bit multiply-accumulate pipeline with an asynchronous active-low reset: operand
// registers, then acc <= acc + a * b (32-bit accumulator). The register-to-register path
// through the 16x16 multiplier and the 32-bit adder is several ns in IHP SG13G2, much longer
// than the reset pin's recovery check. Test input for `shiftadd synth --verilog`.
module mac16_async (
    input  wire        clk,
    input  wire        rst_n,
    input  wire [15:0] a,
    input  wire [15:0] b,
    output wire [31:0] acc
);
    reg [15:0] a_q, b_q;
    reg [31:0] acc_q;
    always @(posedge clk or negedge rst_n) begin
        if (!rst_n) begin
            a_q <= 16'd0;
            b_q <= 16'd0;
            acc_q <= 32'd0;
        end else begin
            a_q <= a;
            b_q <= b;
            acc_q <= acc_q + a_q * b_q;
        end
    end
    assign acc = acc_q;
endmodule
