// The same 16-bit multiply-accumulate pipeline as mac16_async.v with a synchronous
// active-high reset. Test input for `shiftadd synth --verilog`.
module mac16_sync (
    input  wire        clk,
    input  wire        rst,
    input  wire [15:0] a,
    input  wire [15:0] b,
    output wire [31:0] acc
);
    reg [15:0] a_q, b_q;
    reg [31:0] acc_q;
    always @(posedge clk) begin
        if (rst) begin
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
